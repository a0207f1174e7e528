//! systemd's configuration syntax (systemd.syntax(7)), read as systemd's own
//! parser reads it (`config_parse` in src/shared/conf-parser.c), so that
//! doctor judges what a daemon sees, not what a tidier reader would.
//!
//! - A file is bytes, not text: lines end at `\n`, `\r\n`, `\r` or NUL.
//! - A line whose first non-blank character is `#` or `;` is a comment,
//!   whatever its bytes, even inside a continuation, and never continues.
//! - A line ending in an unescaped backslash continues on the next: the
//!   backslash becomes a space and the next line is appended.
//! - A logical line that is not UTF-8, or a section header that is not
//!   `[NAME]` with a safe name, makes systemd stop reading the file and the
//!   rest of its configuration: what was read before it holds.
//! - `KEY=VALUE` outside a section, without `=` or without a key is ignored.

/// One `KEY=VALUE` inside a section, with where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub section: String,
    pub key: String,
    pub value: String,
    /// The physical lines it spans (1-based): more than one when continued.
    pub first_line: usize,
    pub last_line: usize,
}

impl Setting {
    /// `line 3`, or `lines 3-5` for a continued setting.
    pub fn lines(&self) -> String {
        if self.first_line == self.last_line {
            format!("line {}", self.first_line)
        } else {
            format!("lines {}-{}", self.first_line, self.last_line)
        }
    }
}

/// Where and why systemd stops reading its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The physical line (1-based) where the offending logical line ends.
    pub line: usize,
    /// `is not UTF-8`, `is not a section header`, ...
    pub why: &'static str,
}

/// A file as systemd reads it: its settings in order, and where the reading
/// stopped, if it did (nothing after that, in this file or the next, is read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub settings: Vec<Setting>,
    pub stop: Option<Stop>,
}

/// systemd's `WHITESPACE`.
fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// [`is_blank`] for a character.
fn blank_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_blank(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_blank(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// The physical lines of `bytes`, as systemd's `read_line` splits them.
fn physical_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => {
                lines.push(&bytes[start..at]);
                at += 2;
                start = at;
            }
            b'\n' | b'\r' | 0 => {
                lines.push(&bytes[start..at]);
                at += 1;
                start = at;
            }
            _ => at += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&bytes[start..]);
    }
    lines
}

/// Whether `text` ends in a backslash that no backslash before it escapes.
fn ends_in_continuation(text: &[u8]) -> bool {
    let mut escaped = false;
    for &byte in text {
        if escaped {
            escaped = false;
        } else if byte == b'\\' {
            escaped = true;
        }
    }
    escaped
}

/// systemd's `string_is_safe`: no control character, quote or backslash.
fn safe_section_name(name: &str) -> bool {
    !name
        .bytes()
        .any(|b| b < b' ' || b == 0x7f || matches!(b, b'"' | b'\'' | b'\\'))
}

/// The reader's state between logical lines.
#[derive(Default)]
struct Reader {
    section: Option<String>,
    parsed: Parsed,
}

impl Reader {
    /// systemd's `parse_line` on one logical line; `Err` stops the reading.
    fn line(&mut self, logical: &[u8], first_line: usize, last_line: usize) -> Result<(), Stop> {
        let logical = trim(logical);
        if logical.is_empty() {
            return Ok(());
        }
        let stop = |why| Stop {
            line: last_line,
            why,
        };
        let Ok(text) = std::str::from_utf8(logical) else {
            return Err(stop("is not UTF-8"));
        };
        if let Some(header) = text.strip_prefix('[') {
            let Some(name) = header.strip_suffix(']') else {
                return Err(stop("is a section header without its closing ]"));
            };
            if !safe_section_name(name) {
                return Err(stop(
                    "names a section with a quote, backslash or control character",
                ));
            }
            self.section = Some(name.to_string());
            return Ok(());
        }
        let Some(section) = &self.section else {
            return Ok(()); // outside any section: ignored
        };
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() => {
                self.parsed.settings.push(Setting {
                    section: section.clone(),
                    key: key.trim_matches(blank_char).to_string(),
                    value: value.trim_matches(blank_char).to_string(),
                    first_line,
                    last_line,
                });
                Ok(())
            }
            _ => Ok(()), // no `=`, or no key: ignored
        }
    }
}

/// Reads `bytes` as systemd reads a configuration file.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut reader = Reader::default();
    // The continued logical line so far, and its first physical line.
    let mut continuation: Option<(Vec<u8>, usize)> = None;
    let mut bom_seen = false;
    let mut last = 0;
    for (index, physical) in physical_lines(bytes).into_iter().enumerate() {
        let number = index + 1;
        last = number;
        if matches!(trim(physical).first(), Some(b'#' | b';')) {
            continue;
        }
        let mut line = physical;
        if !bom_seen {
            if let Some(rest) = line.strip_prefix(b"\xef\xbb\xbf") {
                line = rest;
                bom_seen = true;
            }
        }
        let (mut text, first) = match continuation.take() {
            Some((mut so_far, first)) => {
                so_far.extend_from_slice(line);
                (so_far, first)
            }
            None => (line.to_vec(), number),
        };
        if ends_in_continuation(&text) {
            let end = text.len() - 1;
            text[end] = b' ';
            continuation = Some((text, first));
            continue;
        }
        if let Err(stop) = reader.line(&text, first, number) {
            reader.parsed.stop = Some(stop);
            return reader.parsed;
        }
    }
    if let Some((text, first)) = continuation {
        if let Err(stop) = reader.line(&text, first, last) {
            reader.parsed.stop = Some(stop);
        }
    }
    reader.parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings of `text` as (section, key, value).
    fn settings(text: &[u8]) -> Vec<(String, String, String)> {
        let parsed = parse(text);
        assert_eq!(parsed.stop, None, "{:?}", String::from_utf8_lossy(text));
        parsed
            .settings
            .into_iter()
            .map(|s| (s.section, s.key, s.value))
            .collect()
    }

    /// The last value of `setting1` in `[Section]`, as systemd's own test reads it.
    fn setting1(text: &[u8]) -> Option<String> {
        settings(text)
            .into_iter()
            .filter(|(section, key, _)| section == "Section" && key == "setting1")
            .map(|(_, _, value)| value)
            .next_back()
    }

    fn owned(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        list.iter()
            .map(|(s, k, v)| (s.to_string(), k.to_string(), v.to_string()))
            .collect()
    }

    /// The example of systemd.syntax(7), section by section.
    #[test]
    fn the_example_of_systemd_syntax_reads_as_documented() {
        let example = "[Section A]\n\
            KeyOne=value 1\n\
            KeyTwo=value 2\n\
            \n\
            # a comment\n\
            \n\
            [Section B]\n\
            Setting=\"something\" \"some thing\" \"\u{2026}\"\n\
            KeyTwo=value 2 \\\n       value 2 continued\n\
            \n\
            [Section C]\n\
            KeyThree=value 3\\\n\
            # this line is ignored\n\
            ; this line is ignored too\n       value 3 continued\n";
        assert_eq!(
            settings(example.as_bytes()),
            owned(&[
                ("Section A", "KeyOne", "value 1"),
                ("Section A", "KeyTwo", "value 2"),
                (
                    "Section B",
                    "Setting",
                    "\"something\" \"some thing\" \"\u{2026}\""
                ),
                ("Section B", "KeyTwo", "value 2         value 2 continued"),
                ("Section C", "KeyThree", "value 3        value 3 continued"),
            ])
        );
        let parsed = parse(example.as_bytes());
        assert_eq!(parsed.settings[3].lines(), "lines 9-10");
        assert_eq!(parsed.settings[4].lines(), "lines 13-16");
        assert_eq!(parsed.settings[0].lines(), "line 2");
    }

    /// The files of systemd's test-conf-parser.c (test_config_parse) and the
    /// value of `setting1` it expects from each.
    #[test]
    fn the_cases_of_systemds_own_parser_test_read_alike() {
        let cases: [(&[u8], &str); 12] = [
            (b"[Section]\nsetting1=1\n", "1"),
            (b"[Section]\nsetting1=1", "1"),
            (b"\n\n\n\n[Section]\n\n\nsetting1=1", "1"),
            (
                b"[Section]\n[Section]\nsetting1=1\nsetting1=    2 \t\nsetting1=    1\n",
                "1",
            ),
            (
                b"[Section]\n[Section]\nsetting1=1\nsetting1=2\\\n   \nsetting1=1\n",
                "1",
            ),
            (b"[Section]\nsetting1=1\\\n2\\\n3\n", "1 2 3"),
            (b"[Section]\n#hogehoge\\\nsetting1=1\\\n2\\\n3\n", "1 2 3"),
            (b"[Section]\nsetting1=1\\\n#hogehoge\\\n2\\\n3\n", "1 2 3"),
            (
                b"[Section]\n   #hogehoge\\\n   setting1=1\\\n2\\\n3\n",
                "1 2 3",
            ),
            (
                b"[Section]\n   setting1=1\\\n   #hogehoge\\\n2\\\n3\n",
                "1 2 3",
            ),
            (b"[Section]\nsetting1=1\\\n2\\\n3\\\n", "1 2 3"),
            (b"[Section]\nsetting1=1\\\\\\\n\\\\2\n", "1\\\\ \\\\2"),
        ];
        for (file, expected) in cases {
            assert_eq!(
                setting1(file).as_deref(),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(file)
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_matter_only_outside_comments() {
        let latin1 = b"[Login]\n# R\xe9glage\n; \xe9t\xe9\nRemoveIPC=yes\n";
        assert_eq!(settings(latin1), owned(&[("Login", "RemoveIPC", "yes")]));
        let parsed = parse(b"[Login]\nRemoveIPC=no\nKillExcludeUsers=r\xe9my\nRemoveIPC=yes\n");
        assert_eq!(parsed.settings.len(), 1, "nothing after the stop is read");
        assert_eq!(
            parsed.stop,
            Some(Stop {
                line: 3,
                why: "is not UTF-8"
            })
        );
    }

    #[test]
    fn line_ends_headers_and_stray_lines_follow_systemd() {
        // \r\n, a lone \r and NUL end lines; a BOM opens the file.
        assert_eq!(
            settings(b"\xef\xbb\xbf[Login]\r\nA=1\rB=2\0C=3"),
            owned(&[
                ("Login", "A", "1"),
                ("Login", "B", "2"),
                ("Login", "C", "3")
            ])
        );
        // Outside a section, without `=` or without a key: ignored.
        assert_eq!(
            settings(b"A=0\n[Login]\njust words\n=1\nB = 2 \n"),
            owned(&[("Login", "B", "2")])
        );
        // A broken header stops the reading.
        let broken = parse(b"[Login]\nA=1\n[Login\nB=2\n");
        assert_eq!(broken.settings.len(), 1);
        assert_eq!(broken.stop.map(|s| s.line), Some(3));
        let unsafe_name = parse(b"[Lo\"gin]\nA=1\n");
        assert!(unsafe_name.stop.is_some() && unsafe_name.settings.is_empty());
        // A continuation at the end of the file is read as it stands.
        assert_eq!(settings(b"[Login]\nA=1\\"), owned(&[("Login", "A", "1")]));
    }
}
