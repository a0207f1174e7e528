/* rshm_inline.h: bounds-checked copies in and out of a segment, inline.
 *
 * rshm_write and rshm_read are calls into the library; for small, hot copies
 * that fixed cost can exceed the copy. rshm_view_write and rshm_view_read make
 * the same checks (read-only; offset + len within the segment, without
 * overflow; no NULL buffer, even for a length of 0) inline, over a view that
 * rshm_get_view fills once, and copy with memmove. A copy that a check
 * refuses is handed to rshm_write / rshm_read, so its status, errno and
 * rshm_last_error() message are exactly theirs.
 *
 * This header is the one place where C code reaches past the library's
 * calls: it reads the view's fields. The view is valid until rshm_close of
 * its segment. It is written by hand (cbindgen writes no function bodies)
 * and compiles as C89 (with GNU C), C99 to C17 and C++. */
#ifndef RSHM_INLINE_H
#define RSHM_INLINE_H

#include <string.h>

#include "rshm.h"

#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#define RSHM_INLINE static inline
#elif defined(__GNUC__)
#define RSHM_INLINE static __inline__
#else
#define RSHM_INLINE static
#endif

/* Copies len bytes from src into the view's segment at offset: rshm_write's contract. */
RSHM_INLINE rshm_status rshm_view_write(const rshm_view *view, size_t offset, const void *src, size_t len) {
    if (view == NULL || src == NULL || view->read_only || offset > view->size || len > view->size - offset)
        return rshm_write(view ? view->segment : NULL, offset, src, len);
    memmove((char *)view->data + offset, src, len);
    return RSHM_OK;
}

/* Copies len bytes of the view's segment, from offset, into dst: rshm_read's contract. */
RSHM_INLINE rshm_status rshm_view_read(const rshm_view *view, size_t offset, void *dst, size_t len) {
    if (view == NULL || dst == NULL || offset > view->size || len > view->size - offset)
        return rshm_read(view ? view->segment : NULL, offset, dst, len);
    memmove(dst, (const char *)view->data + offset, len);
    return RSHM_OK;
}

#endif /* RSHM_INLINE_H */
