//! chart.png: the round-trip ratios to the floor (left) and the copy ratios
//! against memcpy (right), each a median with min-max whiskers over rounds.

use crate::Row;
use plotters::prelude::*;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Draws one panel: a line through the medians of each series, whiskers from min to max.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    rows: &[&Row],
    (x_max, log_y): (f64, bool),
    target: Option<(f64, &str)>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let mut names: Vec<&str> = Vec::new();
    for row in rows {
        if !names.contains(&row.case.as_str()) {
            names.push(&row.case);
        }
    }
    let lo = rows.iter().map(|r| r.ratio.min).fold(1.0, f64::min);
    let hi = rows.iter().map(|r| r.ratio.max).fold(0.0, f64::max);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60);
    let x = (32f64..x_max).log_scale();
    if log_y {
        let mut c = builder.build_cartesian_2d(x, (lo / 1.5..hi * 1.5).log_scale())?;
        c.configure_mesh()
            .x_desc("message bytes")
            .y_desc(y_desc)
            .draw()?;
        series(&mut c, &names, rows, target)?;
    } else {
        let mut c = builder.build_cartesian_2d(x, (lo.min(0.9) - 0.05)..(hi.max(1.05) + 0.05))?;
        c.configure_mesh().x_desc("bytes").y_desc(y_desc).draw()?;
        series(&mut c, &names, rows, target)?;
    }
    Ok(())
}

fn series<'a, DB: DrawingBackend + 'a, X, Y>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    names: &[&str],
    rows: &[&Row],
    target: Option<(f64, &str)>,
) -> Result<()>
where
    DB::ErrorType: 'static,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    for (i, name) in names.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mine: Vec<&&Row> = rows.iter().filter(|r| r.case == *name).collect();
        let points: Vec<(f64, f64)> = mine
            .iter()
            .map(|r| (r.bytes as f64, r.ratio.median))
            .collect();
        c.draw_series(LineSeries::new(points, color.stroke_width(3)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        c.draw_series(mine.iter().map(|r| {
            ErrorBar::new_vertical(
                r.bytes as f64,
                r.ratio.min,
                r.ratio.median,
                r.ratio.max,
                color.stroke_width(2),
                8,
            )
        }))?;
    }
    if let Some((y, label)) = target {
        let (x0, x1) = (32.0, 1e12);
        c.draw_series(LineSeries::new(
            vec![(x0, y), (x1, y)],
            BLACK.stroke_width(1),
        ))?
        .label(label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

pub fn draw(path: &std::path::Path, rows: &[Row]) -> Result<()> {
    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| "cannot load the font")?;
    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(760);
    let rtt: Vec<&Row> = rows
        .iter()
        .filter(|r| r.section == "rtt" && !r.case.contains("self-check") && !r.case.contains('÷'))
        .collect();
    panel(
        &left,
        "Round trip ÷ the cache-line floor (log; min-max whiskers)",
        "ratio to the floor",
        &rtt,
        (131072.0, true),
        Some((1.0, "the floor")),
    )?;
    let copy: Vec<&Row> = rows.iter().filter(|r| r.section == "copy").collect();
    if !copy.is_empty() {
        panel(
            &right,
            "memcpy time ÷ checked copy time (calls and inline view)",
            "ratio (1.0 = as fast as memcpy)",
            &copy,
            ((128u64 << 20) as f64, false),
            Some((0.97, "target 0.97")),
        )?;
    }
    root.present()?;
    Ok(())
}
