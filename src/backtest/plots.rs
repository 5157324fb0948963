//! The backtest's pictures, each as PNG and SVG beside `report.md`: `equity` (the model's
//! profit and buy-and-hold's, as % of capital, with the model's drawdown below; walk-forward fold
//! boundaries marked), `calibration` (reliability diagram on realised labels, signals per bin
//! below) and `sweep` (expectancy per trade and trade count against the entry threshold).
//!
//! In: the finished [`Report`] and its curves. Out: six files. The font (DejaVu Sans) is compiled
//! in and rendered with `ab_glyph`, so plots need no system fonts or fontconfig: the same bytes on
//! a bare CI machine as on a desktop.

use super::report::Report;
use super::stats::Curve;
use crate::app::AppError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The curves the equity plot draws; not in `report.json` (one point per bar).
#[derive(Clone, Debug, Default)]
pub struct Curves {
    pub model: Curve,
    pub buy_and_hold: Curve,
    /// What the profit is a fraction of (one notional per symbol).
    pub capital: f64,
    /// The entry threshold the trades used, when there was one for all.
    pub threshold: Option<f64>,
}

const SIZE: (u32, u32) = (1200, 800);
/// Most points a drawn line keeps: beyond this a month of 1m bars would make a 10 MB SVG that
/// shows nothing more. Each bucket keeps its lowest and highest point, so drawdowns survive.
const MAX_POINTS: usize = 2_400;
const FONT: &str = "sans-serif";

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws `$plot(&area, $report)` on a white `$backend` canvas at `$path` (a generic function
/// cannot take one closure for both backends, so this is a macro).
macro_rules! render {
    ($backend:ident, $path:expr, $plot:ident, $report:expr) => {{
        let area = $backend::new($path, SIZE).into_drawing_area();
        area.fill(&WHITE)
            .and_then(|()| $plot(&area, $report))
            .and_then(|()| area.present())
            .map_err(|e| e.to_string())
    }};
}

/// Writes `equity`, `calibration` and `sweep`, each `.png` and `.svg`, into `dir`.
pub fn write(dir: &Path, r: &Report) -> Result<(), AppError> {
    register_fonts()?;
    for name in ["equity", "calibration", "sweep"] {
        for svg in [false, true] {
            let path = dir.join(format!("{name}.{}", if svg { "svg" } else { "png" }));
            let drawn = match (name, svg) {
                ("equity", false) => render!(BitMapBackend, &path, equity, r),
                ("equity", true) => render!(SVGBackend, &path, equity, r),
                ("calibration", false) => render!(BitMapBackend, &path, calibration, r),
                ("calibration", true) => render!(SVGBackend, &path, calibration, r),
                (_, false) => render!(BitMapBackend, &path, sweep, r),
                (_, true) => render!(SVGBackend, &path, sweep, r),
            };
            drawn.map_err(|e| AppError::Stage(format!("{}: cannot draw: {e}", path.display())))?;
        }
    }
    Ok(())
}

fn register_fonts() -> Result<(), AppError> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ] {
            plotters::style::register_font(FONT, style, bytes)
                .map_err(|_| "the bundled DejaVu Sans font does not load".to_string())?;
        }
        Ok(())
    })
    .clone()
    .map_err(AppError::Stage)
}

/// At most [`MAX_POINTS`] points of `(x, y)`: each of `MAX_POINTS / 2` buckets keeps its lowest
/// and highest y, in x order.
fn decimate(x: &[i64], y: &[f64]) -> Vec<(i64, f64)> {
    let n = x.len().min(y.len());
    if n <= MAX_POINTS {
        return (0..n).map(|i| (x[i], y[i])).collect();
    }
    let buckets = MAX_POINTS / 2;
    let mut out = Vec::with_capacity(MAX_POINTS + 2);
    for b in 0..buckets {
        let (lo, hi) = (b * n / buckets, ((b + 1) * n / buckets).min(n));
        if lo >= hi {
            continue;
        }
        let (mut min, mut max) = (lo, lo);
        for i in lo..hi {
            if y[i] < y[min] {
                min = i;
            }
            if y[i] > y[max] {
                max = i;
            }
        }
        out.push((x[min.min(max)], y[min.min(max)]));
        if min != max {
            out.push((x[min.max(max)], y[min.max(max)]));
        }
    }
    out
}

/// Profit as % of capital, and the fall from its running peak (≤ 0).
fn percent_and_drawdown(c: &Curve, capital: f64) -> (Vec<f64>, Vec<f64>) {
    let cap = if capital > 0.0 { capital } else { 1.0 };
    let mut peak = 0.0f64;
    c.pnl
        .iter()
        .map(|p| {
            peak = peak.max(*p);
            (100.0 * p / cap, 100.0 * (p - peak) / cap)
        })
        .unzip()
}

/// Dates on a time axis: with the hour when the span is short.
fn date_label(ms: i64, span_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            if span_ms > 4 * 86_400_000 {
                format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
            } else {
                format!(
                    "{:02}-{:02} {:02}:{:02}",
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            }
        })
        .unwrap_or_else(|_| ms.to_string())
}

/// `lo..hi` widened by 5 % (and to a unit when flat) so lines do not sit on the frame.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    };
    let pad = ((hi - lo) * 0.05).max(if hi > lo { 0.0 } else { 0.5 });
    (lo - pad)..(hi + pad)
}

fn min_max(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    })
}

const MODEL: RGBColor = RGBColor(31, 119, 180);
const HOLD: RGBColor = RGBColor(127, 127, 127);
const LOSS: RGBColor = RGBColor(214, 39, 40);
const TRADES: RGBColor = RGBColor(255, 127, 14);

fn equity<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &Report) -> DrawResult<DB> {
    let c = &r.curves;
    let (model_pct, model_dd) = percent_and_drawdown(&c.model, c.capital);
    let (hold_pct, _) = percent_and_drawdown(&c.buy_and_hold, c.capital);
    let model = decimate(&c.model.time_ms, &model_pct);
    let hold = decimate(&c.buy_and_hold.time_ms, &hold_pct);
    let dd = decimate(&c.model.time_ms, &model_dd);
    let (x0, x1) = (r.from_ms, r.to_ms.max(r.from_ms + 1));
    let span = x1 - x0;
    let fmt = move |v: &i64| date_label(*v, span);
    let (top, bottom) = root.split_vertically(SIZE.1 * 68 / 100);
    let (lo, hi) = min_max(model.iter().chain(&hold).map(|p| p.1).chain([0.0]));
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!(
                "Equity, {}: model {:+.2} %, buy and hold {:+.2} % ({} trades)",
                r.model_version,
                100.0 * r.overall.total_return,
                100.0 * r.baselines.buy_and_hold.total_return,
                r.overall.trades
            ),
            (FONT, 20),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, padded(lo, hi))?;
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&fmt)
        .y_desc("profit, % of capital")
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(LineSeries::new([(x0, 0.0), (x1, 0.0)], BLACK.mix(0.4)))?;
    for f in r.walk_forward.iter().flatten() {
        let line = [(f.test_from_ms, lo), (f.test_from_ms, hi)];
        chart.draw_series(LineSeries::new(line, BLACK.mix(0.25)))?;
    }
    chart
        .draw_series(LineSeries::new(hold, HOLD.stroke_width(2)))?
        .label("buy and hold")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], HOLD.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(model, MODEL.stroke_width(2)))?
        .label(if r.walk_forward.is_some() {
            "model (walk-forward; folds start at the grey lines)"
        } else {
            "model"
        })
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MODEL.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;

    let (dd_lo, _) = min_max(dd.iter().map(|p| p.1).chain([0.0]));
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            format!(
                "Drawdown: max {:.2} % of capital, longest {:.1} h under a peak",
                100.0 * r.overall.max_drawdown,
                r.overall.max_drawdown_hours
            ),
            (FONT, 16),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, padded(dd_lo, 0.0))?;
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&fmt)
        .y_desc("%")
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(AreaSeries::new(dd, 0.0, LOSS.mix(0.3)).border_style(LOSS))?;
    Ok(())
}

fn calibration<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &Report) -> DrawResult<DB> {
    let q = &r.quality;
    let (top, bottom) = root.split_vertically(SIZE.1 * 70 / 100);
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!(
                "Calibration on realised labels, {} signals, AUC {}",
                q.labelled,
                q.auc.map_or("n/a".to_string(), |a| format!("{a:.3}"))
            ),
            (FONT, 20),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("mean predicted p_profitable")
        .y_desc("fraction profitable")
        .label_style((FONT, 13))
        .draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.4)))?
        .label("perfectly calibrated")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    if let Some(rate) = q.positive_rate {
        chart
            .draw_series(LineSeries::new([(0.0, rate), (1.0, rate)], HOLD))?
            .label(format!("base rate {:.1} %", 100.0 * rate))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], HOLD));
    }
    let points: Vec<(f64, f64)> = q
        .calibration
        .iter()
        .filter_map(|b| Some((b.mean_predicted?, b.fraction_positive?)))
        .collect();
    chart
        .draw_series(LineSeries::new(points.clone(), MODEL.stroke_width(2)))?
        .label("model")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MODEL.stroke_width(2)));
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, MODEL.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;

    let most = q
        .calibration
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut chart = ChartBuilder::on(&bottom)
        .caption("Signals per p bin", (FONT, 16))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..1.0, 0.0..most * 1.05)?;
    chart
        .configure_mesh()
        .y_desc("signals")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(q.calibration.iter().map(|b| {
        Rectangle::new(
            [(b.lo + 0.005, 0.0), (b.hi - 0.005, b.count as f64)],
            MODEL.mix(0.6).filled(),
        )
    }))?;
    Ok(())
}

fn sweep<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &Report) -> DrawResult<DB> {
    let rows = &r.sweep;
    let (t0, t1) = min_max(rows.iter().map(|s| s.threshold));
    let (t0, t1) = if t0 <= t1 { (t0, t1) } else { (0.0, 1.0) };
    let points: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|s| Some((s.threshold, s.expectancy_bps?)))
        .collect();
    let (lo, hi) = min_max(points.iter().map(|p| p.1).chain([0.0]));
    let most = rows.iter().map(|s| s.trades).max().unwrap_or(0).max(1) as f64;
    let x = padded(t0, t1);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Threshold sweep: expectancy per trade after {} bps fees and {} bps slippage per fill",
                r.rule.fee_bps, r.rule.slippage_bps
            ),
            (FONT, 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .right_y_label_area_size(64)
        .build_cartesian_2d(x.clone(), padded(lo, hi))?
        .set_secondary_coord(x.clone(), 0.0..most * 1.05);
    chart
        .configure_mesh()
        .x_desc("enter when p_profitable ≥ threshold")
        .y_desc("expectancy, bps per trade")
        .label_style((FONT, 13))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("trades")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(x.start, 0.0), (x.end, 0.0)],
        BLACK.mix(0.4),
    ))?;
    if let Some(t) = r.curves.threshold {
        chart
            .draw_series(LineSeries::new(
                [(t, lo), (t, hi)],
                LOSS.mix(0.7).stroke_width(2),
            ))?
            .label(format!("the rule's threshold {t}"))
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], LOSS.mix(0.7).stroke_width(2))
            });
    }
    chart
        .draw_secondary_series(LineSeries::new(
            rows.iter().map(|s| (s.threshold, s.trades as f64)),
            TRADES.stroke_width(2),
        ))?
        .label("trades (right axis)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], TRADES.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(points.clone(), MODEL.stroke_width(2)))?
        .label("expectancy (left axis)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MODEL.stroke_width(2)));
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, MODEL.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_the_extremes_and_the_order() {
        let x: Vec<i64> = (0..100_000).collect();
        let mut y: Vec<f64> = x.iter().map(|v| (*v as f64 / 5_000.0).sin()).collect();
        y[54_321] = -7.0;
        y[12_345] = 9.0;
        let d = decimate(&x, &y);
        assert!(d.len() <= MAX_POINTS, "{}", d.len());
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(d.contains(&(54_321, -7.0)) && d.contains(&(12_345, 9.0)));
        let short = decimate(&x[..10], &y[..10]);
        assert_eq!(short.len(), 10);
    }

    #[test]
    fn drawdown_is_the_fall_from_the_running_peak() {
        let c = Curve {
            time_ms: vec![0, 1, 2, 3],
            pnl: vec![0.0, 20.0, 5.0, 30.0],
            open_bars: 0,
            bars: 4,
        };
        let (pct, dd) = percent_and_drawdown(&c, 1000.0);
        assert_eq!(pct, vec![0.0, 2.0, 0.5, 3.0]);
        assert_eq!(dd, vec![0.0, 0.0, -1.5, 0.0]);
    }
}
