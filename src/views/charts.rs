//! Charts drawn on the server as SVG, so that report pages need no JavaScript: shares with
//! their interval whiskers, a trend line with its interval band, and a funnel plot. Each chart
//! has a title and a description for screen readers, and the page shows the same figures in a
//! table beside it; colours come from the stylesheet, and a position is never told by colour
//! alone (the marks differ in shape, and the table says it in words).

use maud::{Markup, html};

use crate::domain::stats::{Funnel, FunnelPosition};

/// The width of every chart's drawing, in its own units; the page scales it to fit.
const WIDTH: f64 = 400.0;

/// A coordinate, by the one rounding rule.
fn f(x: f64) -> String {
    crate::domain::rounding::fixed(x, 1)
}

/// A figure in a chart's text, as Vietnamese writes it (a decimal comma).
fn vi(x: f64) -> String {
    crate::domain::rounding::fixed_vi(x, 1)
}

/// One share to draw as a bar with its interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    /// Percent.
    pub share: f64,
    pub interval: Option<(f64, f64)>,
}

/// Horizontal bars on 0–100 %, each with its label above and its 95% interval as a whisker.
pub fn bars(id: &str, title: &str, bars: &[Bar]) -> Markup {
    let (left, right, row) = (18.0, 60.0, 46.0);
    let height = bars.len() as f64 * row + 24.0;
    let x = |pct: f64| left + (WIDTH - left - right) * pct.clamp(0.0, 100.0) / 100.0;
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (f(height)) } role="img" aria-labelledby={ (id) "-t " (id) "-d" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } {
                @for b in bars { (b.label) ": " (vi(b.share)) "%. " }
            }
            @for pct in [0.0, 50.0, 100.0] {
                line.grid x1=(f(x(pct))) x2=(f(x(pct))) y1="0" y2=(f(height - 18.0)) {}
                text.axis x=(f(x(pct))) y=(f(height - 4.0)) text-anchor="middle" { (pct) "%" }
            }
            @for (i, b) in bars.iter().enumerate() {
                @let top = i as f64 * row;
                text.label x=(f(left)) y=(f(top + 14.0)) { (b.label) }
                rect.bar x=(f(left)) y=(f(top + 20.0)) width=(f(x(b.share) - left)) height="14" {}
                @if let Some((lo, hi)) = b.interval {
                    @let mid = top + 27.0;
                    line.whisker x1=(f(x(lo))) x2=(f(x(hi))) y1=(f(mid)) y2=(f(mid)) {}
                    line.whisker x1=(f(x(lo))) x2=(f(x(lo))) y1=(f(mid - 7.0)) y2=(f(mid + 7.0)) {}
                    line.whisker x1=(f(x(hi))) x2=(f(x(hi))) y1=(f(mid - 7.0)) y2=(f(mid + 7.0)) {}
                }
                text.value x=(f(WIDTH - 4.0)) y=(f(top + 32.0)) text-anchor="end" { (vi(b.share)) "%" }
            }
        }
    }
}

/// One point of a trend: its short label and, where there were answers, the share and its
/// interval.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendPoint {
    pub label: String,
    pub value: Option<(f64, (f64, f64))>,
}

/// A point drawn: its place on the axis, its share and interval.
type Drawn = (usize, f64, (f64, f64));

/// The lowest gridline that keeps every interval in view: a multiple of 10 below them.
fn floor_of(points: &[TrendPoint]) -> f64 {
    let low = points.iter().filter_map(|p| p.value.map(|(_, (lo, _))| lo)).fold(100.0, f64::min);
    ((low / 10.0).floor() * 10.0).clamp(0.0, 90.0)
}

/// A line of shares over time with the band of their intervals; a period without answers
/// breaks the line.
pub fn trend(id: &str, title: &str, points: &[TrendPoint]) -> Markup {
    let (left, right, top, bottom, height) = (46.0, 10.0, 10.0, 26.0, 200.0);
    let floor = floor_of(points);
    let step = (WIDTH - left - right) / points.len().max(1) as f64;
    let x = |i: usize| left + step * (i as f64 + 0.5);
    let y = |pct: f64| top + (height - top - bottom) * (100.0 - pct.clamp(floor, 100.0)) / (100.0 - floor);
    // Runs of consecutive points with data, each drawn as its own line and band.
    let mut runs: Vec<Vec<Drawn>> = Vec::new();
    let mut open = false;
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some((share, ci)) if open => runs.last_mut().into_iter().for_each(|r| r.push((i, share, ci))),
            Some((share, ci)) => {
                runs.push(vec![(i, share, ci)]);
                open = true;
            }
            None => open = false,
        }
    }
    let gridlines: Vec<f64> = (0..=10).map(|k| k as f64 * 10.0).filter(|g| *g >= floor).collect();
    let every = if gridlines.len() > 6 { 20.0 } else { 10.0 };
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-labelledby={ (id) "-t " (id) "-d" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } {
                @for p in points {
                    (p.label) ": "
                    @match p.value { Some((share, _)) => { (vi(share)) "%. " }, None => "không có phiếu. " }
                }
            }
            @for g in &gridlines {
                @if g % every == 0.0 {
                    line.grid x1=(f(left)) x2=(f(WIDTH - right)) y1=(f(y(*g))) y2=(f(y(*g))) {}
                    text.axis x=(f(left - 4.0)) y=(f(y(*g) + 4.0)) text-anchor="end" { (g) "%" }
                }
            }
            @for run in &runs {
                @let upper = run.iter().map(|(i, _, (_, hi))| format!("{},{}", f(x(*i)), f(y(*hi))));
                @let lower = run.iter().rev().map(|(i, _, (lo, _))| format!("{},{}", f(x(*i)), f(y(*lo))));
                polygon.band points=(upper.chain(lower).collect::<Vec<_>>().join(" ")) {}
                polyline.line points=(run.iter().map(|(i, s, _)| format!("{},{}", f(x(*i)), f(y(*s)))).collect::<Vec<_>>().join(" ")) {}
                @for (i, s, _) in run {
                    circle.dot cx=(f(x(*i))) cy=(f(y(*s))) r="4" {}
                }
            }
            // Every other label where they would run into each other.
            @let every = if step < 38.0 { 2 } else { 1 };
            @for (i, p) in points.iter().enumerate() {
                @if (points.len() - 1 - i).is_multiple_of(every) {
                    text.axis x=(f(x(i))) y=(f(height - 8.0)) text-anchor="middle" { (p.label) }
                }
            }
        }
    }
}

/// One target on a funnel plot.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelDot {
    pub label: String,
    /// Satisfied answers and answers (effective numbers).
    pub k: f64,
    pub n: f64,
    pub position: Option<FunnelPosition>,
}

/// A funnel plot: each target's share against its number of answers, with the pooled share and
/// the 95% and 99.8% limits around it. Targets inside the limits are circles; above, triangles
/// pointing up; below, triangles pointing down.
pub fn funnel(id: &str, title: &str, model: &Funnel, dots: &[FunnelDot]) -> Markup {
    let (left, right, top, bottom, height) = (46.0, 10.0, 10.0, 30.0, 260.0);
    let max_n = dots.iter().map(|d| d.n).fold(10.0, f64::max) * 1.05;
    let low = dots.iter().map(|d| d.k / d.n.max(1.0) * 100.0).fold(model.target * 100.0, f64::min);
    let floor = ((low / 10.0).floor() * 10.0 - 10.0).clamp(0.0, 90.0);
    let x = |n: f64| left + (WIDTH - left - right) * n / max_n;
    let y = |pct: f64| top + (height - top - bottom) * (100.0 - pct.clamp(floor, 100.0)) / (100.0 - floor);
    // The limits drawn at sizes spread evenly over the axis, from a handful of answers.
    let sizes: Vec<f64> = (0..=60).map(|i| 3.0 + (max_n - 3.0) * i as f64 / 60.0).collect();
    let curve = |level: f64, upper: bool| -> String {
        sizes
            .iter()
            .map(|n| {
                let (lo, hi) = model.limits(*n, level);
                format!("{},{}", f(x(*n)), f(y(100.0 * if upper { hi } else { lo })))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let ticks: Vec<f64> = {
        let raw = max_n / 4.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw);
        (0..).map(|i| i as f64 * step).take_while(|t| *t <= max_n).collect()
    };
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-labelledby={ (id) "-t " (id) "-d" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } {
                "Tỷ lệ chung " (vi(model.target * 100.0)) "%. "
                @for d in dots { (d.label) ": " (vi(d.k / d.n.max(1.0) * 100.0)) "% trên " (crate::domain::rounding::fixed_vi(d.n, 0)) " phiếu. " }
            }
            @for g in (0..=10).map(|k| k as f64 * 10.0).filter(|g| *g >= floor) {
                line.grid x1=(f(left)) x2=(f(WIDTH - right)) y1=(f(y(g))) y2=(f(y(g))) {}
                text.axis x=(f(left - 4.0)) y=(f(y(g) + 4.0)) text-anchor="end" { (g) "%" }
            }
            @for t in &ticks {
                text.axis x=(f(x(*t))) y=(f(height - 14.0)) text-anchor="middle" { (t) }
            }
            text.axis x=(f(WIDTH - right)) y=(f(height - 1.0)) text-anchor="end" { "Số phiếu" }
            line.target x1=(f(x(0.0))) x2=(f(x(max_n))) y1=(f(y(model.target * 100.0))) y2=(f(y(model.target * 100.0))) {}
            polyline.limit95 points=(curve(0.95, true)) {}
            polyline.limit95 points=(curve(0.95, false)) {}
            polyline.limit998 points=(curve(0.998, true)) {}
            polyline.limit998 points=(curve(0.998, false)) {}
            @for d in dots {
                @let (cx, cy) = (x(d.n), y(d.k / d.n.max(1.0) * 100.0));
                @match d.position {
                    Some(FunnelPosition::Above | FunnelPosition::WellAbove) => {
                        polygon.above points={ (f(cx)) "," (f(cy - 6.0)) " " (f(cx - 6.0)) "," (f(cy + 5.0)) " " (f(cx + 6.0)) "," (f(cy + 5.0)) } {
                            title { (d.label) }
                        }
                    }
                    Some(FunnelPosition::Below | FunnelPosition::WellBelow) => {
                        polygon.below points={ (f(cx)) "," (f(cy + 6.0)) " " (f(cx - 6.0)) "," (f(cy - 5.0)) " " (f(cx + 6.0)) "," (f(cy - 5.0)) } {
                            title { (d.label) }
                        }
                    }
                    _ => circle.dot cx=(f(cx)) cy=(f(cy)) r="4" { title { (d.label) } },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_draw_a_whisker_per_interval_and_say_their_figures() {
        let svg = bars(
            "e",
            "Chỉ số thành phần",
            &[
                Bar { label: "A".into(), share: 80.0, interval: Some((70.0, 88.0)) },
                Bar { label: "B".into(), share: 50.0, interval: None },
            ],
        )
        .into_string();
        assert_eq!(svg.matches("class=\"whisker\"").count(), 3, "one interval: a line and two caps");
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains("A: 80,0%. B: 50,0%."), "the decimal comma of Vietnamese text: {svg}");
    }

    #[test]
    fn a_month_without_answers_breaks_the_trend_line() {
        let point =
            |label: &str, v: Option<f64>| TrendPoint { label: label.into(), value: v.map(|v| (v, (v - 5.0, v + 5.0))) };
        let points = [point("T1", Some(80.0)), point("T2", Some(82.0)), point("T3", None), point("T4", Some(90.0))];
        let svg = trend("t", "Xu hướng", &points).into_string();
        assert_eq!(svg.matches("<polyline").count(), 2, "two runs");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("T3: không có phiếu."));
        assert_eq!(floor_of(&points), 70.0, "the lowest interval, 75 %, rounded down to ten");
    }

    #[test]
    fn the_funnel_marks_each_position_by_shape() {
        let model = Funnel::plain(0.85);
        let dot =
            |label: &str, k: f64, position| FunnelDot { label: label.into(), k, n: 100.0, position: Some(position) };
        let svg = funnel(
            "f",
            "Phễu",
            &model,
            &[
                dot("A", 99.0, FunnelPosition::WellAbove),
                dot("B", 85.0, FunnelPosition::Within),
                dot("C", 60.0, FunnelPosition::WellBelow),
            ],
        )
        .into_string();
        assert_eq!(svg.matches("class=\"above\"").count(), 1);
        assert_eq!(svg.matches("class=\"below\"").count(), 1);
        assert_eq!(svg.matches("class=\"dot\"").count(), 1);
        assert_eq!(svg.matches("class=\"limit95\"").count(), 2);
        assert!(svg.contains("Tỷ lệ chung 85,0%."));
    }
}
