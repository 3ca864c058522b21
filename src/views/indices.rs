//! The indices page: a form choosing period, level, unit and questionnaire; the table of the
//! report with n, interval, shrunk share, rank, band and funnel flag; download links.

use maud::{Markup, html};

use super::admin::page;
use super::charts;
use crate::config::Letterhead;
use crate::domain::account::Caller;
use crate::domain::method::Fold;
use crate::domain::org::Unit;
use crate::domain::period::Period;
use crate::domain::questionnaire::{QuestionKind, Questionnaire};
use crate::domain::report::{COMMENTS_MIN_RESPONSES, Comments, Detail, Overview, PAGE_LEVELS, Report};
use crate::domain::report::{Level, Row};
use crate::domain::response::Channel;
use crate::domain::rounding;
use crate::domain::stats::{Funnel, wilson};
use crate::export::funnel_names;

fn pct(x: Option<f64>) -> String {
    x.map(|x| rounding::fixed_vi(x, 1)).unwrap_or_else(|| "—".into())
}

/// What the indicator points of a target at `level` are called: an officer's own, else the unit's.
fn points_label(level: Level) -> &'static str {
    match level {
        Level::Officer => "Điểm chỉ tiêu cán bộ",
        _ => "Điểm chỉ tiêu đơn vị",
    }
}

/// A share with its percent sign, or "—" (no sign) when there is none.
fn percent(x: Option<f64>) -> String {
    x.map(|x| format!("{}%", rounding::fixed_vi(x, 1))).unwrap_or_else(|| "—".into())
}

fn interval(x: Option<(f64, f64)>) -> String {
    x.map(|(lo, hi)| format!("{}–{}", rounding::fixed_vi(lo, 1), rounding::fixed_vi(hi, 1))).unwrap_or_default()
}

/// The report form as the caller filled it in (the query string of the page, the downloads and
/// the API), echoed back in the form and carried by the links; each field as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ReportForm {
    pub period: Option<String>,
    pub level: Option<String>,
    pub unit: Option<String>,
    pub questionnaire: Option<String>,
    /// `receipt` or `qr`: only the responses that came by that channel.
    pub channel: Option<String>,
    pub format: Option<String>,
    /// `3` folds the five-level scale on target pages.
    pub fold: Option<String>,
    /// `exclude`: leave out the responses that carry a stuffing flag.
    pub flagged: Option<String>,
}

fn row(report: &Report, r: &Row, params: &ReportForm) -> Markup {
    html! {
        tr {
            td { (r.target.code) }
            td {
                @if PAGE_LEVELS.contains(&report.query.level) {
                    a href=(detail_link(report.query.level, &r.target.code, params)) { (r.target.name) }
                } @else { (r.target.name) }
            }
            @if matches!(report.query.level, Level::Desk | Level::Officer) { td { (r.target.parent_code.as_deref().unwrap_or("")) } }
            td.num { (r.responses) }
            td.num title=(flag_kinds(&r.flagged)) { (r.flagged.responses) }
            td.num { (pct(r.figures.overall)) br; span.small { (interval(r.figures.overall_interval)) } }
            @if r.sufficient {
                td.num { (pct(r.shrunk.map(|s| s.0))) br; span.small { (interval(r.shrunk.map(|s| s.1))) } }
                td.num { (r.rank.map(|x| x.to_string()).unwrap_or_default()) }
                td { (r.band.as_deref().unwrap_or("")) }
                td { (r.funnel.map(|f| funnel_names(f).1).unwrap_or("")) }
            } @else {
                td colspan="4" { "Chưa đủ dữ liệu (dưới " (report.min_sample) " phiếu)" }
            }
            @if report.query.level == Level::Officer {
                td { (r.suggestion.as_deref().unwrap_or("")) }
            }
        }
    }
}

/// The flags of a row by kind, in words: "dồn dập 12, gửi quá nhanh 3".
pub fn flag_kinds(flagged: &crate::domain::report::Flagged) -> String {
    flagged.by_kind.iter().map(|(k, n)| format!("{} {n}", k.vi())).collect::<Vec<_>>().join(", ")
}

fn export_link(params: &ReportForm, format: &str) -> String {
    let pairs = [
        ("period", params.period.as_deref().unwrap_or_default()),
        ("level", params.level.as_deref().unwrap_or_default()),
        ("unit", params.unit.as_deref().unwrap_or_default()),
        ("questionnaire", params.questionnaire.as_deref().unwrap_or_default()),
        ("channel", params.channel.as_deref().unwrap_or_default()),
        ("flagged", params.flagged.as_deref().unwrap_or_default()),
        ("format", format),
    ];
    let query = serde_urlencoded::to_string(pairs.iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default();
    format!("/admin/indices/export?{query}")
}

pub fn page_of(
    caller: &Caller,
    params: &ReportForm,
    units: &[Unit],
    questionnaires: &[(String, String)],
    outcome: Result<&Report, &str>,
) -> Markup {
    let level = params.level.as_deref().unwrap_or("unit");
    let unit = params.unit.as_deref().unwrap_or("");
    let questionnaire = params.questionnaire.as_deref().unwrap_or(crate::domain::questionnaire::DEFAULT_ID);
    page(
        caller,
        "Chỉ số hài lòng",
        html! {
            form.stack.filters method="get" action="/admin/indices" {
                div.field {
                    label.block for="period" { "Kỳ báo cáo" }
                    input #period type="text" name="period" value=(params.period.as_deref().unwrap_or_default())
                        inputmode="numeric" aria-describedby="period-hint" required;
                }
                div.field {
                    label.block for="level" { "Cấp" }
                    select #level name="level" {
                        @for l in [Level::Unit, Level::Subtree, Level::Desk, Level::Officer, Level::Field, Level::Channel] {
                            option value=(l.code()) selected[l.code() == level] { (l.vi()) }
                        }
                    }
                }
                div.field {
                    label.block for="unit" { "Trong đơn vị" }
                    select #unit name="unit" {
                        option value="" { "Toàn bộ phạm vi" }
                        @for u in units {
                            option value=(u.code) selected[u.code == unit] { (u.name) " (" (u.code) ")" }
                        }
                    }
                }
                div.field {
                    label.block for="questionnaire" { "Phiếu" }
                    select #questionnaire name="questionnaire" {
                        @for (id, title) in questionnaires {
                            option value=(id) selected[id == questionnaire] { (title) }
                        }
                    }
                }
                div.field {
                    label.block for="channel" { "Kênh" }
                    select #channel name="channel" {
                        option value="" { "Mọi kênh" }
                        @for c in [Channel::Receipt, Channel::Qr] {
                            option value=(c.code()) selected[params.channel.as_deref() == Some(c.code())] { (c.name_vi()) }
                        }
                    }
                }
                div.field {
                    label.block for="flagged" { "Phiếu gắn cờ" }
                    select #flagged name="flagged" {
                        option value="" { "Tính cả phiếu gắn cờ" }
                        option value="exclude" selected[params.flagged.as_deref() == Some("exclude")] { "Bỏ phiếu gắn cờ" }
                    }
                }
                button type="submit" { "Xem" }
            }
            p #period-hint .small { "Kỳ: năm 2026, 6 tháng 2026-H1, quý 2026-Q3, tháng 2026-07 hoặc khoảng 2026-01-01..2026-03-31." }
            @match outcome {
                Err(message) => div.alert role="alert" { p { (message) } },
                Ok(report) => {
                    p.small {
                        (report.scope_name) " — kỳ " (report.query.period)
                        @if let Some(c) = report.query.channel { " — chỉ kênh " (c.name_vi()) }
                        " — " (report.rows.len()) " dòng. "
                        "Tỷ lệ hài lòng: (4 + 5) / (1..5); khoảng tin cậy 95% Wilson; hiệu chỉnh Bayes thực nghiệm trong nhóm; "
                        "xếp loại theo bảng " (report.bands.version) " (mặc định, có thể cấu hình)."
                    }
                    @let dropped = !report.rows_dropped_below_minimum().is_empty();
                    p.flagged-statement.alert[dropped] role=[dropped.then_some("alert")] { (report.flagged_statement()) }
                    p {
                        "Tải về: "
                        a href=(export_link(params, "xlsx")) { "Excel (XLSX)" } " · "
                        a href=(export_link(params, "csv")) { "CSV" } " · "
                        a href=(export_link(params, "json")) { "JSON" }
                    }
                    @if report.rows.is_empty() {
                        p { "Chưa có phiếu đánh giá nào trong kỳ và phạm vi này." }
                    } @else {
                        table.audit {
                            thead { tr {
                                th { "Mã" } th { "Tên" }
                                @if matches!(report.query.level, Level::Desk | Level::Officer) { th { "Đơn vị" } }
                                th.num { "Số phiếu" } th.num { "Gắn cờ" } th.num { "Hài lòng % (KTC 95%)" }
                                th.num { "Hiệu chỉnh %" } th.num { "Hạng" } th { "Xếp loại" } th { "So với kỳ vọng" }
                                @if report.query.level == Level::Officer { th { "Gợi ý NĐ 90 (" (report.suggestion.version) ")" } }
                            } }
                            tbody { @for r in &report.rows { (row(report, r, params)) } }
                        }
                    }
                }
            }
        },
    )
}

/// The query string that keeps the period, unit and questionnaire of `params` (and `extra`).
fn keep(params: &ReportForm, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = [
        ("period", params.period.as_deref().unwrap_or_default()),
        ("unit", params.unit.as_deref().unwrap_or_default()),
        ("questionnaire", params.questionnaire.as_deref().unwrap_or_default()),
        ("channel", params.channel.as_deref().unwrap_or_default()),
        ("flagged", params.flagged.as_deref().unwrap_or_default()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    pairs.extend(extra.iter().copied().filter(|(_, v)| !v.is_empty()));
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// The address of a target's page (codes are letters, digits, '.', '_' and '-': safe in a path).
pub fn detail_link(level: Level, code: &str, params: &ReportForm) -> String {
    format!("/admin/indices/{}/{code}?{}", level.code(), keep(params, &[]))
}

/// The management page of a target, where it has one: an officer's assignments, a desk's unit.
pub fn management_link(level: Level, code: &str) -> Option<String> {
    match level {
        Level::Officer => Some(format!("/admin/officers/{code}")),
        _ => None,
    }
}

/// The address of a target's printable year-end sheet.
fn sheet_link(level: Level, code: &str, params: &ReportForm) -> String {
    format!("/admin/indices/{}/{code}/sheet?{}", level.code(), keep(params, &[]))
}

fn figure(term: &str, value: Markup) -> Markup {
    html! { div { dt { (term) } dd { (value) } } }
}

/// The headline figures of a row.
fn headline(detail: &Detail, row: &Row) -> Markup {
    let report = &detail.report;
    let f = &row.figures;
    let ranked =
        report.rows.iter().filter(|r| r.rank.is_some() && r.questionnaire_version == row.questionnaire_version).count();
    html! {
        dl.figures {
            (figure("Số phiếu", html! { (row.responses) }))
            (figure(
                if report.query.without_flagged { "Phiếu gắn cờ (đã bỏ, không tính)" } else { "Phiếu gắn cờ (có tính)" },
                html! {
                    (row.flagged.responses) br; span.small { (flag_kinds(&row.flagged)) }
                    @if report.dropped_below_minimum(row) {
                        br; strong.warning { "Bỏ phiếu gắn cờ làm số phiếu xuống dưới " (report.min_sample) ": chưa đủ dữ liệu." }
                    }
                },
            ))
            (figure("Tỷ lệ hài lòng (KTC 95%)", html! { (percent(f.overall)) br; span.small { (interval(f.overall_interval)) } }))
            (figure("Điểm trung bình (1–5)", html! { (f.overall_mean.map(|m| rounding::fixed_vi(m, 2)).unwrap_or_else(|| "—".into())) }))
            @if f.rate_766.is_some() {
                (figure("Tỷ lệ hài lòng QĐ 766", html! { (percent(f.rate_766)) }))
            }
            @if row.sufficient {
                (figure("Hiệu chỉnh Bayes (KTC 95%)", html! { (percent(row.shrunk.map(|s| s.0))) br; span.small { (interval(row.shrunk.map(|s| s.1))) } }))
                (figure("Hạng", html! { (row.rank.map(|r| format!("{r}/{ranked}")).unwrap_or_default()) }))
                (figure("Xếp loại", html! { (row.band.as_deref().unwrap_or("—")) }))
                (figure("So với kỳ vọng", html! { (row.funnel.map(|p| funnel_names(p).1).unwrap_or("—")) }))
            } @else {
                (figure("Đánh giá", html! { "Chưa đủ dữ liệu" br; span.small { "dưới " (report.min_sample) " phiếu: không xếp hạng, không xếp loại" } }))
            }
            @if let Some((points, most, share)) = f.points_of(report.query.level == Level::Officer) {
                (figure(points_label(report.query.level), html! { (rounding::fixed_vi(points, 2)) " / " (rounding::fixed_vi(most, 0)) br; span.small { (rounding::fixed_vi(share, 1)) "% tối đa" } }))
            }
            @if let Some(c) = &row.coverage {
                (figure("Phiếu trên số hồ sơ", html! { (rounding::fixed_vi(c.pct, 1)) "%" br;
                    span.small { (row.responses) " phiếu / " (c.served) " hồ sơ"
                        @if let Some(flag) = c.flag { br; strong { "Cần xem lại: " (flag.vi()) } } } }))
            }
            @if let Some(s) = &row.suggestion {
                (figure("Gợi ý mức NĐ 90/2020", html! { (s) br; span.small { "quy tắc " (report.suggestion.version) "; người đánh giá quyết định" } }))
            }
            @if let Some(c) = row.change {
                (figure("Kỳ trước", html! {
                    (rounding::fixed_vi(c.previous_pct, 1)) "% (" (c.previous_responses) " phiếu)" br;
                    span.small { "p = " (c.p_value.map(rounding::p_value_text_vi).unwrap_or_else(|| "—".into()))
                        @if c.p_value.is_some_and(|p| p < 0.05) { ", thay đổi có ý nghĩa" } @else { ", chưa đủ bằng chứng thay đổi" } }
                }))
            }
        }
    }
}

/// The target's figures by channel: the receipt-verified ones (one rating per dossier) beside
/// the open QR code's, and the receipts' part of all responses.
fn by_channel(detail: &Detail, row: &Row) -> Markup {
    if detail.channels.is_empty() {
        return html! {};
    }
    let all: u64 = detail.rows.iter().map(|r| r.responses).sum();
    html! {
        h2 { "Theo kênh đánh giá" }
        table.audit {
            thead { tr { th { "Kênh" } th.num { "Số phiếu" } th.num { "Phần của tổng" } th.num { "Hài lòng % (KTC 95%)" } } }
            tbody { @for (channel, r) in &detail.channels {
                tr {
                    td { (channel.name_vi()) }
                    @match r {
                        Some(r) => {
                            td.num { (r.responses) }
                            td.num { @if all > 0 { (rounding::fixed_vi(r.responses as f64 * 100.0 / all as f64, 1)) "%" } }
                            td.num { (pct(r.figures.overall)) br; span.small { (interval(r.figures.overall_interval)) } }
                        },
                        None => { td.num { "0" } td.num { "—" } td.num { "—" } },
                    }
                }
            } }
        }
        p.small { "Phiếu qua giấy hẹn: mỗi hồ sơ một lần, do người nộp hồ sơ đánh giá; phiếu qua mã QR tại quầy: ai cũng có thể gửi. Tổng "
            (all) " phiếu, phiên bản " (row.questionnaire_version) " của phiếu." }
    }
}

/// The element shares of a row as bars with whiskers, and as a table.
fn elements(q: &Questionnaire, row: &Row, id: &str, min_sample: u64) -> Markup {
    let bars: Vec<charts::Bar> = q
        .elements
        .iter()
        .filter_map(|e| {
            let share = *row.figures.elements.get(&e.id)?;
            let n = row.figures.element_n.get(&e.id).copied().unwrap_or_default();
            let interval = wilson(share / 100.0 * n, n, 0.95).map(|(lo, hi)| (lo * 100.0, hi * 100.0));
            Some(charts::Bar { label: e.vi.clone(), share, interval })
        })
        .collect();
    html! {
        @if !bars.is_empty() {
            h2 { "Chỉ số thành phần" }
            (charts::bars(id, "Tỷ lệ hài lòng theo thành phần, với khoảng tin cậy 95%", &bars))
            @let alpha = !row.figures.alpha.is_empty();
            table.audit {
                thead { tr { th { "Thành phần" } th.num { "Tỷ lệ %" } th.num { "KTC 95%" } th.num { "Số trả lời" }
                    @if alpha { th.num { "Cronbach α (số phiếu đủ tiêu chí)" } } } }
                tbody { @for (b, e) in bars.iter().zip(q.elements.iter().filter(|e| row.figures.elements.contains_key(&e.id))) {
                    tr { td { (b.label) } td.num { (pct(Some(b.share))) } td.num { (interval(b.interval)) }
                         td.num { (rounding::fixed_vi(row.figures.element_n.get(&e.id).copied().unwrap_or_default(), 0)) }
                         @if alpha { td.num { (alpha_text(row.figures.alpha.get(&e.id), min_sample)) } } }
                } }
            }
            @if alpha {
                p.small { "Cronbach α đo độ nhất quán giữa các tiêu chí của một thành phần, trên các phiếu trả lời đủ mọi tiêu chí của thành phần đó; từ 0,7 trở lên thường được coi là chấp nhận được. Chỉ tính khi có từ " (min_sample) " phiếu như vậy: với ít phiếu hơn, hệ số dao động quá mạnh để có nghĩa." }
            }
        }
    }
}

/// Alpha with the number of responses it rests on; below the minimum sample it swings too
/// widely to mean anything (it is unbounded below), so only that number is shown.
fn alpha_text(alpha: Option<&(f64, u64)>, min_sample: u64) -> String {
    match alpha {
        Some((a, n)) if *n >= min_sample => format!("{} ({n})", rounding::fixed_vi(*a, 2)),
        Some((_, n)) => format!("chưa đủ ({n})"),
        None => "—".into(),
    }
}

fn trend_points(points: &[(Period, Option<Row>)], label: impl Fn(&Period) -> String) -> Vec<charts::TrendPoint> {
    points
        .iter()
        .map(|(p, row)| charts::TrendPoint {
            label: label(p),
            value: row.as_ref().and_then(|r| Some((r.figures.overall?, r.figures.overall_interval?))),
        })
        .collect()
}

/// A month as `MM/YY`, short enough for twelve under a phone-wide chart.
fn month_label(p: &Period) -> String {
    format!("{:02}/{:02}", u8::from(p.first().month()), p.first().year() % 100)
}

fn trend_table(points: &[(Period, Option<Row>)]) -> Markup {
    html! {
        table.audit {
            thead { tr { th { "Kỳ" } th.num { "Số phiếu" } th.num { "Hài lòng %" } th.num { "KTC 95%" } } }
            tbody { @for (p, row) in points {
                tr { td { (p) }
                    @match row {
                        Some(r) => { td.num { (r.responses) } td.num { (pct(r.figures.overall)) } td.num { (interval(r.figures.overall_interval)) } },
                        None => { td.num { "0" } td.num { "—" } td {} },
                    }
                }
            } }
        }
    }
}

/// The answer distribution per question; `fold` gathers the five-level scale into fewer levels.
/// `inline` puts a question's levels on one line (the printed sheet).
fn distribution(q: &Questionnaire, row: &Row, fold: Option<&Fold>, inline: bool) -> Markup {
    html! {
        table.audit {
            thead { tr { th { "Câu hỏi" } th { "Phân bố câu trả lời (số phiếu)" } th.num { "Trả lời" } th.num { "Bỏ trống" } } }
            tbody {
                @for question in &q.questions {
                    @if let Some(d) = row.figures.distributions.get(&question.id) {
                        @let answered: u64 = d.iter().map(|(_, c)| c).sum();
                        @let levels = q.options(question);
                        @let name_of = |v: i64| levels.iter().find(|l| l.value == v).map_or(String::new(), |l| l.vi.clone());
                        @let shown: Vec<(String, u64)> = match fold.filter(|f| speaks_for(f, levels)).and_then(|f| f.apply(d)) {
                            Some(folded) => folded.into_iter().map(|(n, c)| (n.to_owned(), c)).collect(),
                            None => d.iter().map(|(v, c)| (format!("{} ({v})", name_of(*v)), *c)).collect(),
                        };
                        tr {
                            td { (question.vi) }
                            td { @for (i, (name, count)) in shown.iter().enumerate() {
                                @if i > 0 { @if inline { "; " } @else { br; } }
                                (name) ": " strong { (count) }
                                @if answered > 0 { " (" (rounding::fixed_vi(*count as f64 * 100.0 / answered as f64, 0)) "%)" }
                            } }
                            td.num { (answered) }
                            td.num { (row.responses.saturating_sub(answered)) }
                        }
                    }
                }
            }
        }
    }
}

/// Whether `fold`'s names speak for a question with these answer levels: each folded level that
/// is one stored level bears that level's name. The default fold ("Rất hài lòng", "Hài lòng",
/// "Không hài lòng") speaks for the satisfaction scale, not for the convenience one, whose
/// answers are shown as they are.
fn speaks_for(fold: &Fold, levels: &[crate::domain::questionnaire::Level]) -> bool {
    fold.levels
        .iter()
        .filter(|f| f.values.len() == 1)
        .all(|f| levels.iter().any(|l| l.value == f.values[0] && l.vi == f.name))
}

/// The distribution as a grid, a column per level of `fold`, for a printed sheet: one line per
/// question. `None` unless every answered question folds (a questionnaire all on the 5-level
/// scale, as SIPAS is).
fn distribution_grid(q: &Questionnaire, row: &Row, fold: &Fold) -> Option<Markup> {
    let mut lines = Vec::new();
    for question in &q.questions {
        if let Some(d) = row.figures.distributions.get(&question.id) {
            let answered: u64 = d.iter().map(|(_, c)| c).sum();
            if !speaks_for(fold, q.options(question)) {
                return None;
            }
            let folded: Vec<u64> = fold.apply(d)?.into_iter().map(|(_, c)| c).collect();
            lines.push((question.vi.as_str(), folded, answered));
        }
    }
    let share = |count: u64, answered: u64| match answered {
        0 => String::new(),
        _ => format!(" ({:.0}%)", count as f64 * 100.0 / answered as f64),
    };
    Some(html! {
        table.dist {
            thead { tr { th { "Câu hỏi" } @for level in &fold.levels { th.num { (level.name) } } th.num { "Trả lời" } th.num { "Bỏ trống" } } }
            tbody { @for (text, folded, answered) in &lines {
                tr { td { (text) } @for count in folded { td.num { (count) (share(*count, *answered)) } }
                     td.num { (answered) } td.num { (row.responses.saturating_sub(*answered)) } }
            } }
        }
    })
}

fn comments(detail: &Detail) -> Markup {
    html! {
        h2 { "Ý kiến góp ý" }
        @match &detail.comments {
            Comments::NotForRole => p.small { "Ý kiến góp ý chỉ hiển thị cho lãnh đạo đơn vị và quản trị." },
            Comments::TooFew => p.small { "Chưa hiển thị: cần ít nhất " (COMMENTS_MIN_RESPONSES) " phiếu trong kỳ để không thể nhận ra người góp ý." },
            Comments::Listed(list) if list.is_empty() => p.small { "Không có ý kiến nào trong kỳ." },
            Comments::Listed(list) => {
                p.small { (list.len()) " ý kiến, đã che số điện thoại và số giấy tờ, không kèm thời điểm, xếp theo chữ cái." }
                ul.comments { @for c in list { li { (c) } } }
            }
        }
    }
}

/// The officers of a unit on a funnel plot, and their table.
fn officers(detail: &Detail, params: &ReportForm) -> Markup {
    let Some(report) = &detail.officers else { return html! {} };
    let dots: Vec<charts::FunnelDot> = report
        .rows
        .iter()
        .filter(|r| r.sufficient)
        .filter_map(|r| {
            let n = r.figures.overall_n;
            Some(charts::FunnelDot {
                label: format!("{} ({})", r.target.name, r.target.code),
                k: r.figures.overall? / 100.0 * n,
                n,
                position: r.funnel,
            })
        })
        .collect();
    let model = Funnel::fit(&dots.iter().map(|d| (d.k, d.n)).collect::<Vec<_>>());
    html! {
        h2 { "Cán bộ của đơn vị" }
        div.cols { div {
        @if let Some(model) = model {
            (charts::funnel("funnel", "Biểu đồ phễu: tỷ lệ hài lòng của từng cán bộ theo số phiếu, giới hạn 95% và 99,8%", &model, &dots))
            p.small { "Đường đứt nét: tỷ lệ chung. Đường vàng: giới hạn 95%; đường đỏ: 99,8%"
                @if model.widened() { " (đã nới theo độ phân tán φ = " (rounding::fixed_vi(model.phi, 2)) ", kiểm định χ² p = " (model.dispersion_p.map(rounding::p_value_text_vi).unwrap_or_default()) ")" }
                @else { " (không nới: chênh lệch giữa các cán bộ không vượt mức ngẫu nhiên" @if let Some(p) = model.dispersion_p { ", kiểm định χ² p = " (rounding::p_value_text_vi(p)) } ")" }
                ". Tam giác hướng lên: trên kỳ vọng; hướng xuống: dưới kỳ vọng. Chỉ cán bộ có từ " (report.min_sample) " phiếu." }
        }
        } div {
        @if report.rows.is_empty() {
            p { "Chưa có cán bộ nào được đánh giá trong kỳ." }
        } @else {
            table.audit {
                thead { tr { th { "Cán bộ" } th.num { "Số phiếu" } th.num { "Hài lòng % (KTC 95%)" } th.num { "Hiệu chỉnh %" } th.num { "Hạng" } th { "So với kỳ vọng" } } }
                tbody { @for r in &report.rows {
                    tr {
                        td { a href=(detail_link(Level::Officer, &r.target.code, params)) { (r.target.name) } br; span.small { (r.target.code) } }
                        td.num { (r.responses) }
                        td.num { (pct(r.figures.overall)) br; span.small { (interval(r.figures.overall_interval)) } }
                        @if r.sufficient {
                            td.num { (pct(r.shrunk.map(|s| s.0))) } td.num { (r.rank.map(|x| x.to_string()).unwrap_or_default()) }
                            td { (r.funnel.map(|f| funnel_names(f).1).unwrap_or("")) }
                        } @else {
                            td colspan="3" { "Chưa đủ dữ liệu" }
                        }
                    }
                } }
            }
        }
        } }
    }
}

/// The comparison of a desk's or officer's row with its unit's.
fn comparison(detail: &Detail, row: &Row, params: &ReportForm) -> Markup {
    let Some(unit) = &detail.unit else { return html! {} };
    html! {
        h2 { "So với đơn vị" }
        table.audit {
            thead { tr { th {} th.num { "Số phiếu" } th.num { "Hài lòng % (KTC 95%)" } th.num { "Điểm TB" } } }
            tbody {
                tr { td { (detail.target.name) } td.num { (row.responses) }
                     td.num { (pct(row.figures.overall)) " " span.small { (interval(row.figures.overall_interval)) } }
                     td.num { (row.figures.overall_mean.map(|m| rounding::fixed_vi(m, 2)).unwrap_or_default()) } }
                tr { td { a href=(detail_link(Level::Unit, &unit.target.code, params)) { (unit.target.name) } } td.num { (unit.responses) }
                     td.num { (pct(unit.figures.overall)) " " span.small { (interval(unit.figures.overall_interval)) } }
                     td.num { (unit.figures.overall_mean.map(|m| rounding::fixed_vi(m, 2)).unwrap_or_default()) } }
            }
        }
    }
}

/// A target's page: headline figures, elements, trend, distribution, officers or comparison,
/// comments.
pub fn detail_of(
    caller: &Caller,
    params: &ReportForm,
    level: Level,
    outcome: Result<&Detail, &str>,
    fold: &Fold,
) -> Markup {
    let folded = params.fold.as_deref() == Some("3");
    let title = match outcome {
        Ok(d) => format!("{} — {}", d.target.name, level.vi()),
        Err(_) => String::from("Chỉ số hài lòng"),
    };
    page(
        caller,
        &title,
        html! {
            p { a href={ "/admin/indices?" (keep(params, &[("level", level.code())])) } { "← Bảng chỉ số" } }
            @match outcome {
                Err(message) => div.alert role="alert" { p { (message) } },
                Ok(detail) => {
                    form.stack.filters method="get" {
                        div.field {
                            label.block for="period" { "Kỳ báo cáo" }
                            input #period type="text" name="period" value=(detail.report.query.period) required;
                        }
                        @if let Some(u) = &params.unit { input type="hidden" name="unit" value=(u); }
                        @if let Some(q) = &params.questionnaire { input type="hidden" name="questionnaire" value=(q); }
                        div.field { label.opt { input type="checkbox" name="fold" value="3" checked[folded]; "Gộp thang 5 mức thành " (fold.levels.len()) " mức" } }
                        button type="submit" { "Xem" }
                    }
                    p.small { (detail.target.code)
                        @if let Some(parent) = &detail.target.parent_code { " · đơn vị " (parent) }
                        " · kỳ " (detail.report.query.period) " · trong " (detail.report.scope_name) }
                    p {
                        a href=(sheet_link(level, &detail.target.code, params)) { "Phiếu tổng hợp cuối năm (in A4)" }
                        @if let Some(manage) = management_link(level, &detail.target.code) { " · " a href=(manage) { "Quản lý " (level.vi().to_lowercase()) " này" } }
                        @if caller.allows(crate::domain::account::Permission::Moderate) && matches!(level, Level::Officer | Level::Unit) {
                            " · " a href=(format!("/admin/{}s/{}/responses?period={}", level.code(), detail.target.code, detail.report.query.period)) { "Kiểm soát phiếu (gắn cờ, loại khỏi chỉ số)" }
                        }
                    }
                    @match detail.row() {
                        None => p { "Chưa có phiếu đánh giá nào trong kỳ này." },
                        Some(row) => {
                            @if detail.rows.len() > 1 {
                                p.small { "Có phiếu theo " (detail.rows.len()) " phiên bản của bảng hỏi tính điểm khác nhau; dưới đây là phiên bản " (row.questionnaire_version) "." }
                            }
                            div.cols {
                                div { (headline(detail, row)) (comparison(detail, row, params)) (by_channel(detail, row)) }
                                div { @if let Some(q) = detail.questionnaire(row) { (elements(q, row, "elements", detail.report.min_sample)) } }
                            }
                        }
                    }
                    div.cols {
                        div {
                            h2 { "Xu hướng 12 tháng" }
                            (charts::trend("trend", "Tỷ lệ hài lòng theo tháng, với khoảng tin cậy 95%", &trend_points(&detail.months, month_label)))
                            details { summary { "Bảng số liệu theo tháng" } (trend_table(&detail.months)) }
                        }
                        div {
                            @if let Some(row) = detail.row() {
                                @if let Some(q) = detail.questionnaire(row) {
                                    h2 { "Phân bố câu trả lời" }
                                    (distribution(q, row, folded.then_some(fold), false))
                                }
                            }
                        }
                    }
                    (officers(detail, params))
                    (comments(detail))
                }
            }
        },
    )
}

/// The printable year-end sheet of an officer or a unit, laid out as an administrative document
/// (Decree 30/2020/NĐ-CP): the letterhead (governing body and issuer on the left, the national
/// title and motto on the right), the place and date line, the title, then the figures, their
/// interval, the shrunk share, rank, band and suggestion, the trend by quarter, the answer
/// distribution and the comparison with the unit, the method, and the signature blocks. One A4
/// page on either shipped questionnaire.
///
/// One function because it is one printed page, written top to bottom as it prints.
pub fn sheet_of(detail: &Detail, level: Level, fold: &Fold, letterhead: &Letterhead) -> Markup {
    let report = &detail.report;
    let made = crate::domain::clock::vietnam_date(report.generated_at_ms);
    let unit_name = match level {
        Level::Officer => detail.unit.as_ref().map(|u| u.target.name.clone()),
        _ => Some(detail.target.name.clone()),
    };
    let issuer =
        if letterhead.issuer.is_empty() { unit_name.clone().unwrap_or_default() } else { letterhead.issuer.clone() };
    let place = if letterhead.place.is_empty() { "……………" } else { letterhead.place.as_str() };
    let ranked = |row: &Row| {
        report.rows.iter().filter(|r| r.rank.is_some() && r.questionnaire_version == row.questionnaire_version).count()
    };
    html! {
        (maud::DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { "Phiếu tổng hợp — " (detail.target.name) " — " (report.query.period) }
                link rel="stylesheet" href=(crate::views::assets::stylesheet_path());
            }
            body {
                main.wide { article.a4.document {
                    p.noprint { a href=(detail_link(level, &detail.target.code, &ReportForm { period: Some(report.query.period.to_string()), unit: report.query.unit.clone(), questionnaire: Some(report.query.questionnaire.to_string()), ..ReportForm::default() })) { "← Trang chỉ số" } " · In bằng lệnh In của trình duyệt (Ctrl+P), khổ A4, lề mặc định." }
                    header.letterhead {
                        div.issuer {
                            @if !letterhead.authority.is_empty() { p.authority { (letterhead.authority.to_uppercase()) } }
                            p.body { strong { (issuer.to_uppercase()) } }
                            hr;
                        }
                        div.nation {
                            p.title { strong { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" } }
                            p.motto { strong { "Độc lập - Tự do - Hạnh phúc" } }
                            hr;
                            p.date { em { (place) ", ngày " (format!("{:02}", made.day())) " tháng " (format!("{:02}", u8::from(made.month()))) " năm " (made.year()) } }
                        }
                    }
                    h1 { "PHIẾU TỔNG HỢP" br; "KẾT QUẢ ĐÁNH GIÁ SỰ HÀI LÒNG" }
                    p.subject {
                        strong { (level.vi()) ": " (detail.target.name) } " (" (detail.target.code) ")"
                        @if level == Level::Officer { @if let Some(unit) = &unit_name { " — " (unit) } }
                        br;
                        "Kỳ đánh giá: " (report.query.period) " (" (crate::domain::clock::iso(report.query.period.first())) " – " (crate::domain::clock::iso(report.query.period.last())) ")"
                        " · " (report.versions.last().map(|q| q.title_vi.as_str()).unwrap_or(report.query.questionnaire.as_str()))
                    }
                    @match detail.row() {
                        None => p { "Không có phiếu đánh giá nào trong kỳ." },
                        Some(row) => {
                            @let f = &row.figures;
                            h2 { "1. Kết quả" }
                            table {
                                tbody {
                                    tr { th { "Số phiếu" } td { (row.responses) } th { "Tỷ lệ hài lòng (KTC 95%)" } td { (percent(f.overall)) " (" (interval(f.overall_interval)) ")" } }
                                    tr { th { "Điểm trung bình (1–5)" } td { (f.overall_mean.map(|m| rounding::fixed_vi(m, 2)).unwrap_or_default()) } th { "Tỷ lệ QĐ 766" } td { (percent(f.rate_766)) } }
                                    @if row.sufficient {
                                        tr { th { "Hiệu chỉnh Bayes (KTC 95%)" } td { (percent(row.shrunk.map(|s| s.0))) " (" (interval(row.shrunk.map(|s| s.1))) ")" }
                                             th { "Hạng · Xếp loại" } td { (row.rank.map(|r| format!("{r}/{}", ranked(row))).unwrap_or_default()) " · " (row.band.as_deref().unwrap_or("—")) } }
                                    } @else {
                                        tr { td colspan="4" { "Chưa đủ dữ liệu (dưới " (report.min_sample) " phiếu): không xếp hạng, không xếp loại." } }
                                    }
                                    @if let Some((points, most, share)) = f.points_of(level == Level::Officer) {
                                        tr { th { (points_label(level)) } td { (rounding::fixed_vi(points, 2)) " / " (rounding::fixed_vi(most, 0)) " (" (rounding::fixed_vi(share, 1)) "%)" }
                                             @if level == Level::Officer { th { "Gợi ý mức NĐ 90/2020" } td { (row.suggestion.as_deref().unwrap_or("—")) } } @else { td colspan="2" {} } }
                                    }
                                    @if let Some(unit) = &detail.unit {
                                        tr { th { "Đơn vị " (unit.target.name) } td colspan="3" { (unit.responses) " phiếu, hài lòng " (percent(unit.figures.overall)) " (" (interval(unit.figures.overall_interval)) ")" } }
                                    }
                                }
                            }
                        }
                    }
                    div.pair {
                        div { @if let Some(row) = detail.row() {
                            @let f = &row.figures;
                            @if let Some(q) = detail.questionnaire(row) {
                                h2 { "2. Chỉ số thành phần" }
                                table {
                                    thead { tr { th { "Thành phần" } th { "Tỷ lệ hài lòng %" } th { "Số trả lời" }
                                        @if !f.alpha.is_empty() { th { "Cronbach α (số phiếu)" } } } }
                                    tbody { @for e in &q.elements { @if let Some(share) = f.elements.get(&e.id) {
                                        tr { td { (e.vi) } td { (pct(Some(*share))) } td { (rounding::fixed_vi(f.element_n.get(&e.id).copied().unwrap_or_default(), 0)) }
                                            @if !f.alpha.is_empty() { td { (alpha_text(f.alpha.get(&e.id), report.min_sample)) } } }
                                    } } }
                                }
                            }
                        } }
                        div {
                            h2 { "3. Theo quý năm " (report.query.period.last().year()) }
                            (trend_table(&detail.quarters))
                        }
                    }
                    @if let Some(row) = detail.row() {
                        @if let Some(q) = detail.questionnaire(row) {
                            h2 { "4. Phân bố câu trả lời" }
                            @match distribution_grid(q, row, fold) {
                                Some(grid) => (grid),
                                None => (distribution(q, row, Some(fold), true)),
                            }
                        }
                    }
                    p.method {
                        // The fold first: the table just above is read through it.
                        @if let Some(q) = detail.row().and_then(|row| detail.questionnaire(row)) { (fold_statement(q, fold)) " " }
                        strong { (report.flagged_statement()) } " "
                        "Phương pháp: hài lòng = trả lời mức 4–5 / số trả lời (bỏ trống không tính); tỷ lệ chung = trung bình có trọng số các thành phần; "
                        "KTC 95% Wilson, mỗi người trả lời tính một lần; hiệu chỉnh Bayes theo nhóm cùng kỳ, cùng phiếu; từ " (report.min_sample) " phiếu mới xếp hạng, "
                        "xếp loại (bảng " (report.bands.version) ", so đúng ngưỡng) và gợi ý (quy tắc " (report.suggestion.version) ", chỉ là gợi ý); làm tròn nửa lên. "
                        "Số liệu lập lúc " (crate::domain::clock::format_vietnam(report.generated_at_ms)) "."
                    }
                    div.signatures {
                        div { p { strong { "NGƯỜI LẬP BIỂU" } } p.sign { em { "(Ký, ghi rõ họ tên)" } } }
                        div { p { strong { "THỦ TRƯỞNG ĐƠN VỊ" } } p.sign { em { "(Ký, ghi rõ họ tên, đóng dấu)" } } }
                    }
                } }
            }
        }
    }
}

/// What a printed sheet says of its fold: which stored levels each printed level gathers, so
/// that "Không hài lòng" on paper is not read as the stored level of that name alone. (A level
/// that is one stored level of the same name goes without saying.)
fn fold_statement(q: &Questionnaire, fold: &Fold) -> String {
    let scale =
        q.questions.iter().find(|x| x.kind == QuestionKind::Satisfaction).map(|x| q.options(x)).unwrap_or_default();
    let name = |v: i64| scale.iter().find(|l| l.value == v).map_or(v.to_string(), |l| format!("{} ({v})", l.vi));
    let parts: Vec<String> = fold
        .levels
        .iter()
        .filter(|l| !(l.values.len() == 1 && scale.iter().any(|s| s.value == l.values[0] && s.vi == l.name)))
        .map(|l| format!("{} = {}", l.name, l.values.iter().map(|v| name(*v)).collect::<Vec<_>>().join(" + ")))
        .collect();
    format!("Gộp {} mức (bảng {}; vẫn lưu đủ 5 mức): {}.", fold.levels.len(), fold.version, parts.join("; "))
}

/// The dashboard's figures: the scope's share for the period, its monthly trend, and the units
/// at the top of the tree with their subtrees' shares and intervals, each linking to its page.
pub fn overview_section(overview: &Overview) -> Markup {
    let params = ReportForm {
        period: Some(overview.period.to_string()),
        questionnaire: Some(overview.questionnaire.clone()),
        ..ReportForm::default()
    };
    let bars: Vec<charts::Bar> = overview
        .units
        .iter()
        .filter_map(|r| {
            Some(charts::Bar {
                label: r.target.name.clone(),
                share: r.figures.overall?,
                interval: r.figures.overall_interval,
            })
        })
        .collect();
    html! {
        section.overview {
            h2 { "Chỉ số hài lòng " (overview.period) }
            @match &overview.total {
                None => p { "Chưa có phiếu đánh giá nào trong kỳ." },
                Some(total) => {
                    dl.figures {
                        (figure("Số phiếu", html! { (total.responses) }))
                        (figure("Tỷ lệ hài lòng (KTC 95%)", html! { (percent(total.figures.overall)) br; span.small { (interval(total.figures.overall_interval)) } }))
                        @if total.figures.rate_766.is_some() {
                            (figure("Tỷ lệ hài lòng QĐ 766", html! { (percent(total.figures.rate_766)) }))
                        }
                        (figure("Điểm trung bình (1–5)", html! { (total.figures.overall_mean.map(|m| rounding::fixed_vi(m, 2)).unwrap_or_else(|| "—".into())) }))
                    }
                    (charts::trend("overview-trend", "Tỷ lệ hài lòng theo tháng trong phạm vi, với khoảng tin cậy 95%", &trend_points(&overview.months, month_label)))
                    @if !bars.is_empty() {
                        (charts::bars("overview-units", "Tỷ lệ hài lòng theo đơn vị (gồm đơn vị trực thuộc), với khoảng tin cậy 95%", &bars))
                    }
                    table.audit {
                        thead { tr { th { "Đơn vị (gồm trực thuộc)" } th.num { "Số phiếu" } th.num { "Hài lòng % (KTC 95%)" } } }
                        tbody { @for r in &overview.units {
                            tr {
                                td { a href=(detail_link(Level::Subtree, &r.target.code, &params)) { (r.target.name) } }
                                td.num { (r.responses) }
                                td.num { (pct(r.figures.overall)) br; span.small { (interval(r.figures.overall_interval))
                                    @if r.responses < overview.min_sample { " · chưa đủ dữ liệu" } } }
                            }
                        } }
                    }
                    p { a href={ "/admin/indices?" (keep(&params, &[("level", "unit")])) } { "Bảng chỉ số chi tiết và tải về" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_shown_only_on_the_minimum_sample() {
        assert_eq!(alpha_text(Some(&(0.8123, 40)), 30), "0,81 (40)");
        assert_eq!(alpha_text(Some(&(0.8123, 30)), 30), "0,81 (30)");
        assert_eq!(alpha_text(Some(&(-10.0, 3)), 30), "chưa đủ (3)", "a wild value on three responses is not shown");
        assert_eq!(alpha_text(None, 30), "—");
    }
}
