//! The indices page: a form choosing period, level, unit and questionnaire; the table of the
//! report with n, interval, shrunk share, rank, band and funnel flag; download links.

use maud::{Markup, html};

use super::admin::page;
use crate::domain::report::{Level, Row};
use crate::export::funnel_names;
use crate::reports::Report;
use crate::store::UnitRow;
use crate::web::auth::Caller;
use crate::web::indices::Params;

fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
}

fn interval(x: Option<(f64, f64)>) -> String {
    x.map(|(lo, hi)| format!("{lo:.1}–{hi:.1}")).unwrap_or_default()
}

fn row(report: &Report, r: &Row) -> Markup {
    html! {
        tr {
            td { (r.target.code) }
            td { (r.target.name) }
            td.num { (r.responses) }
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

fn export_link(params: &Params, format: &str) -> String {
    let pairs = [
        ("period", params.period.as_deref().unwrap_or_default()),
        ("level", params.level.as_deref().unwrap_or_default()),
        ("unit", params.unit.as_deref().unwrap_or_default()),
        ("questionnaire", params.questionnaire.as_deref().unwrap_or_default()),
        ("format", format),
    ];
    let query = serde_urlencoded::to_string(pairs.iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default();
    format!("/admin/indices/export?{query}")
}

pub fn page_of(
    caller: &Caller,
    params: &Params,
    units: &[UnitRow],
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
            form.stack method="get" action="/admin/indices" {
                label.block for="period" { "Kỳ báo cáo" }
                input #period type="text" name="period" value=(params.period.as_deref().unwrap_or_default())
                    inputmode="numeric" aria-describedby="period-hint" required;
                p #period-hint .small { "Năm 2026, 6 tháng 2026-H1, quý 2026-Q3, tháng 2026-07 hoặc khoảng 2026-01-01..2026-03-31" }
                label.block for="level" { "Cấp" }
                select #level name="level" {
                    @for l in [Level::Unit, Level::Subtree, Level::Desk, Level::Officer, Level::Field, Level::Channel] {
                        option value=(l.code()) selected[l.code() == level] { (l.vi()) }
                    }
                }
                label.block for="unit" { "Trong đơn vị" }
                select #unit name="unit" {
                    option value="" { "Toàn bộ phạm vi" }
                    @for u in units {
                        option value=(u.code) selected[u.code == unit] { (u.name) " (" (u.code) ")" }
                    }
                }
                label.block for="questionnaire" { "Phiếu" }
                select #questionnaire name="questionnaire" {
                    @for (id, title) in questionnaires {
                        option value=(id) selected[id == questionnaire] { (title) }
                    }
                }
                button type="submit" { "Xem" }
            }
            @match outcome {
                Err(message) => div.alert role="alert" { p { (message) } },
                Ok(report) => {
                    p.small {
                        (report.scope_name) " — kỳ " (report.query.period) " — " (report.rows.len()) " dòng. "
                        "Tỷ lệ hài lòng: (4 + 5) / (1..5); khoảng tin cậy 95% Wilson; hiệu chỉnh Bayes thực nghiệm trong nhóm; "
                        "xếp loại theo bảng " (report.bands.version) " (mặc định, có thể cấu hình)."
                    }
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
                                th { "Mã" } th { "Tên" } th { "Số phiếu" } th { "Hài lòng % (KTC 95%)" }
                                th { "Hiệu chỉnh %" } th { "Hạng" } th { "Xếp loại" } th { "So với kỳ vọng" }
                                @if report.query.level == Level::Officer { th { "Gợi ý NĐ 90 (" (report.suggestion.version) ")" } }
                            } }
                            tbody { @for r in &report.rows { (row(report, r)) } }
                        }
                    }
                }
            }
        },
    )
}
