//! Reports written for the people who evaluate: CSV (the columns the README documents), JSON,
//! and XLSX with Vietnamese headers, a sheet per level and a sheet stating the method.
//!
//! Rows are written one at a time as they are formatted (the XLSX in constant-memory mode,
//! flushed row by row); text that a spreadsheet would read as a formula is defused.

use std::io::Write;

use rust_xlsxwriter::{Format as CellFormat, FormatAlign, Workbook, XlsxError};
use serde_json::{Map, Value, json};

use crate::domain::clock;
use crate::domain::questionnaire::QuestionKind;
use crate::domain::report::Report;
use crate::domain::report::Row;
use crate::domain::rounding;
use crate::domain::stats::{FunnelPosition, OVERDISPERSION_LEVEL};

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "csv" => Ok(Self::Csv),
            "xlsx" => Ok(Self::Xlsx),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown format '{other}': use csv, xlsx or json")),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Json => "application/json",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    /// A percentage or score: two decimals.
    Number,
    /// A p-value: three significant digits.
    PValue,
    Count,
}

/// One column: its key (the CSV header and JSON name), its Vietnamese header, its kind.
#[derive(Clone, Debug)]
struct Column {
    key: String,
    vi: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
    Number(f64),
    /// Three significant digits.
    PValue(f64),
    Count(u64),
    Bool(bool),
    Empty,
}

fn column(key: impl Into<String>, vi: impl Into<String>, kind: Kind) -> Column {
    Column { key: key.into(), vi: vi.into(), kind }
}

/// The funnel flag's code and Vietnamese name.
pub fn funnel_names(position: FunnelPosition) -> (&'static str, &'static str) {
    match position {
        FunnelPosition::WellAbove => ("well_above", "Cao hơn rõ rệt (ngoài 99,8%)"),
        FunnelPosition::Above => ("above", "Cao hơn (ngoài 95%)"),
        FunnelPosition::Within => ("within", "Trong giới hạn"),
        FunnelPosition::Below => ("below", "Thấp hơn (ngoài 95%)"),
        FunnelPosition::WellBelow => ("well_below", "Thấp hơn rõ rệt (ngoài 99,8%)"),
    }
}

/// The element ids and indicator numbers of the report's questionnaire versions, in the order
/// of the latest.
/// Ids (or numbers) with their Vietnamese names.
type Named<K> = Vec<(K, String)>;

fn element_and_indicator_columns(report: &Report) -> (Named<String>, Named<u8>) {
    let mut elements: Vec<(String, String)> = Vec::new();
    let mut indicators: Vec<(u8, String)> = Vec::new();
    for q in report.versions.iter().rev() {
        for e in &q.elements {
            if !elements.iter().any(|(id, _)| id == &e.id) {
                elements.push((e.id.clone(), e.vi.clone()));
            }
        }
        for question in q.questions.iter().filter(|x| x.kind == QuestionKind::Indicator) {
            if let Some(n) = question.indicator.filter(|n| !indicators.iter().any(|(i, _)| i == n)) {
                indicators.push((n, question.vi.clone()));
            }
        }
    }
    indicators.sort_by_key(|(n, _)| *n);
    (elements, indicators)
}

fn columns(report: &Report) -> Vec<Column> {
    use Kind::*;
    let mut columns = vec![
        column("level", "Cấp", Text),
        column("code", "Mã", Text),
        column("name", "Tên", Text),
        column("parent_code", "Mã đơn vị cấp trên", Text),
        column("period", "Kỳ", Text),
        column("responses", "Số phiếu (n)", Count),
        column("satisfied_pct", "Tỷ lệ hài lòng (%)", Number),
        column("ci_low", "Khoảng tin cậy 95% – cận dưới (%)", Number),
        column("ci_high", "Khoảng tin cậy 95% – cận trên (%)", Number),
        column("mean_score", "Điểm trung bình (1–5)", Number),
        column("rate_766", "Tỷ lệ hài lòng theo QĐ 766 (%)", Number),
        column("sufficient", "Đủ dữ liệu", Text),
        column("shrunk_pct", "Tỷ lệ hài lòng hiệu chỉnh (%)", Number),
        column("shrunk_low", "Khoảng tin cậy hiệu chỉnh – cận dưới (%)", Number),
        column("shrunk_high", "Khoảng tin cậy hiệu chỉnh – cận trên (%)", Number),
        column("rank", "Thứ hạng", Count),
        column("band", "Xếp loại", Text),
        column("funnel", "So với kỳ vọng (biểu đồ phễu)", Text),
        column("funnel_phi", "Hệ số nới giới hạn phễu (1 = không nới)", Number),
    ];
    let (elements, indicators) = element_and_indicator_columns(report);
    for (id, vi) in elements {
        columns.push(column(format!("element_{id}_pct"), format!("{vi} (%)"), Number));
    }
    for (n, _) in &indicators {
        columns.push(column(format!("points_{n}"), format!("Điểm tiêu chí {n} (0–2)"), Number));
    }
    columns.extend([
        column("officer_points", "Tổng điểm tiêu chí đánh giá cán bộ", Number),
        column("unit_points", "Tổng điểm tiêu chí đánh giá đơn vị", Number),
        column("questionnaire", "Phiếu", Text),
        column("version", "Phiên bản phiếu", Count),
        column("suggested_level", "Mức xếp loại gợi ý (NĐ 90/2020)", Text),
        column("previous_pct", "Tỷ lệ hài lòng kỳ trước (%)", Number),
        column("change_p_value", "Giá trị p của thay đổi", PValue),
        column("served", "Số hồ sơ đã giải quyết (phần mềm một cửa)", Count),
        column("coverage_pct", "Tỷ lệ phiếu trên số hồ sơ (%)", Number),
        column("coverage_flag", "Cảnh báo tỷ lệ phiếu", Text),
        column("flagged", "Số phiếu gắn cờ", Count),
        column("flagged_counted", "Phiếu gắn cờ được tính", Text),
        column("below_minimum_without_flagged", "Thiếu mẫu vì bỏ phiếu gắn cờ", Text),
    ]);
    for kind in crate::domain::flags::FlagKind::ALL {
        columns.push(column(format!("flag_{}", kind.code()), format!("Cờ: {}", kind.vi()), Count));
    }
    columns
}

fn cells(report: &Report, columns: &[Column], row: &Row, vietnamese: bool) -> Vec<Cell> {
    let f = &row.figures;
    let text = |s: &str| Cell::Text(s.to_owned());
    let number = |x: Option<f64>| x.map_or(Cell::Empty, Cell::Number);
    let when_sufficient = |cell: Cell| if row.sufficient { cell } else { Cell::Empty };
    columns
        .iter()
        .map(|c| match c.key.as_str() {
            "level" => text(if vietnamese { report.query.level.vi() } else { report.query.level.code() }),
            "code" => text(&row.target.code),
            "name" => text(&row.target.name),
            "parent_code" => row.target.parent_code.as_deref().map_or(Cell::Empty, text),
            "period" => Cell::Text(report.query.period.to_string()),
            "responses" => Cell::Count(row.responses),
            "satisfied_pct" => number(f.overall),
            "ci_low" => number(f.overall_interval.map(|i| i.0)),
            "ci_high" => number(f.overall_interval.map(|i| i.1)),
            "mean_score" => number(f.overall_mean),
            "rate_766" => number(f.rate_766),
            "sufficient" if vietnamese => text(if row.sufficient { "Đủ" } else { "Chưa đủ dữ liệu" }),
            "sufficient" => Cell::Bool(row.sufficient),
            "shrunk_pct" => number(row.shrunk.map(|s| s.0)),
            "shrunk_low" => number(row.shrunk.map(|s| s.1.0)),
            "shrunk_high" => number(row.shrunk.map(|s| s.1.1)),
            "rank" => row.rank.map_or(Cell::Empty, |r| Cell::Count(r as u64)),
            "band" => when_sufficient(row.band.as_deref().map_or(Cell::Empty, text)),
            "funnel_phi" => row.funnel.map_or(Cell::Empty, |_| {
                let version = format!("{}@{}", report.query.questionnaire, row.questionnaire_version);
                report.funnels.iter().find(|(v, _)| *v == version).map_or(Cell::Empty, |(_, f)| Cell::Number(f.phi))
            }),
            "funnel" => row.funnel.map_or(Cell::Empty, |p| {
                let (code, vi) = funnel_names(p);
                text(if vietnamese { vi } else { code })
            }),
            "officer_points" => number(f.officer_points),
            "unit_points" => number(f.unit_points),
            "questionnaire" => text(report.query.questionnaire.as_str()),
            "version" => Cell::Count(row.questionnaire_version.max(0) as u64),
            "suggested_level" => row.suggestion.as_deref().map_or(Cell::Empty, text),
            "previous_pct" => number(row.change.map(|c| c.previous_pct)),
            "change_p_value" => row.change.and_then(|c| c.p_value).map_or(Cell::Empty, Cell::PValue),
            "served" => row.coverage.map_or(Cell::Empty, |c| Cell::Count(c.served)),
            "coverage_pct" => number(row.coverage.map(|c| c.pct)),
            "coverage_flag" => row
                .coverage
                .and_then(|c| c.flag)
                .map_or(Cell::Empty, |f| text(if vietnamese { f.vi() } else { f.code() })),
            "flagged" => Cell::Count(row.flagged.responses),
            "flagged_counted" if vietnamese => text(if report.query.without_flagged { "Không" } else { "Có" }),
            "flagged_counted" => Cell::Bool(!report.query.without_flagged),
            "below_minimum_without_flagged" if vietnamese => {
                text(if report.dropped_below_minimum(row) { "Có" } else { "Không" })
            }
            "below_minimum_without_flagged" => Cell::Bool(report.dropped_below_minimum(row)),
            key => {
                if let Some(kind) = key.strip_prefix("flag_").and_then(crate::domain::flags::FlagKind::parse) {
                    Cell::Count(row.flagged.by_kind.get(&kind).copied().unwrap_or(0))
                } else if let Some(id) = key.strip_prefix("element_").and_then(|k| k.strip_suffix("_pct")) {
                    number(f.elements.get(id).copied())
                } else if let Some(n) = key.strip_prefix("points_").and_then(|n| n.parse::<u8>().ok()) {
                    number(f.indicator_points.get(&n).copied())
                } else {
                    Cell::Empty
                }
            }
        })
        .collect()
}

/// A text cell a spreadsheet would take for a formula (=, +, -, @, tab, carriage return, also
/// after leading white space or a byte-order mark, which spreadsheets skip) gets a leading
/// apostrophe (OWASP's advice for CSV injection).
fn defused(text: &str) -> std::borrow::Cow<'_, str> {
    let bare = text.trim_start_matches(|c: char| c == '\u{feff}' || (c.is_whitespace() && c != '\t' && c != '\r'));
    if bare.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}").into() } else { text.into() }
}

/// The one CSV writer of the project: every text cell it writes is [`defused`], so that no
/// name, label or comment becomes a formula in the spreadsheet that opens the file.
pub struct CsvOut<W: Write>(csv::Writer<W>);

impl<W: Write> CsvOut<W> {
    pub fn new(out: W) -> Self {
        Self(csv::Writer::from_writer(out))
    }

    /// A row of text cells.
    pub fn text_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> std::io::Result<()> {
        let cells: Vec<std::borrow::Cow<'a, str>> = cells.into_iter().map(defused).collect();
        self.0.write_record(cells.iter().map(|c| c.as_ref())).map_err(std::io::Error::other)
    }

    fn cells(&mut self, cells: Vec<Cell>) -> std::io::Result<()> {
        let record = cells.into_iter().map(|cell| match cell {
            Cell::Text(s) => defused(&s).into_owned(),
            Cell::Number(x) => rounding::fixed(x, 2),
            Cell::PValue(p) => rounding::p_value_text(p),
            Cell::Count(n) => n.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Empty => String::new(),
        });
        self.0.write_record(record).map_err(std::io::Error::other)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The UTF-8 byte-order mark an export's CSV begins with: without it Excel on Windows reads the
/// file in the local code page and garbles Vietnamese. (JSON is the format for programs.)
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes the reports as CSV: the byte-order mark, one header, then one row per target of each
/// report.
pub fn write_csv(reports: &[Report], mut out: impl Write, progress: &dyn Fn(u64)) -> std::io::Result<()> {
    out.write_all(UTF8_BOM)?;
    let mut writer = CsvOut::new(out);
    let Some(first) = reports.first() else { return Ok(()) };
    let header = columns(first);
    writer.text_row(header.iter().map(|c| c.key.as_str()))?;
    let mut written = 0;
    for report in reports {
        // Reports of other levels share the fixed columns; their element columns are the first's.
        for row in &report.rows {
            writer.cells(cells(report, &header, row, false))?;
            written += 1;
            progress(written);
        }
    }
    writer.flush()
}

/// The audit entry of an export: its target and what it held.
pub fn audit_detail(reports: &[Report], format: Format, rows: usize) -> (String, String) {
    let levels: Vec<&str> = reports.iter().map(|r| r.query.level.code()).collect();
    let Some(first) = reports.first() else { return (String::new(), String::new()) };
    let target = format!("{} {}", levels.join(","), first.query.period);
    let detail = serde_json::json!({
        "levels": levels,
        "period": first.query.period.to_string(),
        "unit": first.query.unit,
        "questionnaire": first.query.questionnaire,
        "channel": first.query.channel.map(|c| c.code()),
        "format": format.extension(),
        "rows": rows,
    });
    (target, detail.to_string())
}

fn round2(x: f64) -> Value {
    json!(rounding::round(x, 2))
}

/// The method, parameters, period and generation time: what the XLSX method sheet and the
/// JSON's `method` say.
fn method_lines(report: &Report) -> Vec<(&'static str, String)> {
    let versions: Vec<String> = report
        .versions
        .iter()
        .map(|q| match report.pooled.get(&q.version).filter(|all| all.len() > 1) {
            Some(all) => format!(
                "{}@{} (gồm phiếu các phiên bản {}: cùng câu hỏi, giá trị và trọng số, chỉ khác lời)",
                q.id,
                q.version,
                all.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ),
            None => format!("{}@{}", q.id, q.version),
        })
        .collect();
    let bands: Vec<String> = report.bands.levels.iter().map(|b| format!("{} từ {}%", b.name, b.min_pct)).collect();
    let bands = bands.join("; ");
    let mut rule: Vec<String> = report
        .suggestion
        .levels
        .iter()
        .map(|l| {
            format!(
                "{}: từ {} phiếu, tỷ lệ hài lòng từ {}%, điểm tiêu chí cán bộ từ {}% tối đa",
                l.name, l.min_responses, l.min_pct, l.min_points_pct
            )
        })
        .collect();
    rule.push(format!("còn lại: {}", report.suggestion.otherwise));
    rule.push("phiếu không có tiêu chí chấm điểm cán bộ (SIPAS): chỉ xét số phiếu và tỷ lệ hài lòng".into());
    let rule = rule.join("; ");
    vec![
        ("Kỳ báo cáo", format!("{} ({} – {}, giờ Việt Nam UTC+07:00)", report.query.period, clock::iso(report.query.period.first()), clock::iso(report.query.period.last()))),
        ("Phạm vi", report.scope_name.clone()),
        ("Kênh", match report.query.channel {
            Some(c) => format!("chỉ các phiếu qua {} ({})", c.name_vi(), c.code()),
            None => "mọi kênh (mã QR tại quầy, mã QR trên giấy hẹn)".into(),
        }),
        ("Phiếu và phiên bản", versions.join(", ")),
        ("Phiếu gắn cờ", format!(
            "{} {}; quy tắc {}",
            report.flagged_statement(),
            if report.query.without_flagged {
                "báo cáo này KHÔNG tính các phiếu gắn cờ (số phiếu và mọi tỷ lệ chỉ trên phiếu không có cờ; cột flagged là số phiếu đã bỏ)"
            } else {
                "tính mọi phiếu không bị loại khi kiểm duyệt, kể cả phiếu gắn cờ (cột flagged: số phiếu có cờ trong số đó)"
            },
            report.flag_rules.words()
        )),
        ("Thời điểm lập", clock::format_vietnam(report.generated_at_ms)),
        ("Tỷ lệ hài lòng của một câu hỏi", "(số trả lời 4 và 5) / (số trả lời 1–5) × 100; bỏ trống và 'Không ý kiến' không tính vào mẫu số".into()),
        ("Chỉ số thành phần", "tỷ lệ hài lòng của câu hỏi hài lòng của thành phần; nếu không có, trung bình tỷ lệ của các tiêu chí".into()),
        ("Tỷ lệ hài lòng chung", "trung bình có trọng số của các chỉ số thành phần (trọng số theo phiếu)".into()),
        ("Khoảng tin cậy 95%", "Wilson, tại cỡ mẫu hiệu dụng tính mỗi người trả lời là một quan sát: n·p(1 − p)/v, với v là phương sai điểm chung của từng phiếu (trung bình có trọng số các thành phần của phiếu đó); bằng số phiếu khi mỗi phiếu trả lời mọi thành phần như nhau; không vượt cỡ mẫu hiệu dụng Kish 1 / Σ (wᵢ/Σw)² / nᵢ. Cỡ mẫu này dùng cho khoảng tin cậy, tỷ lệ hiệu chỉnh, biểu đồ phễu và kiểm định thay đổi".into()),
        ("Tỷ lệ theo QĐ 766", "(số phiếu − số phiếu đánh giá 1 hoặc 2) / số phiếu × 100, trên câu hỏi hài lòng chung".into()),
        ("Cỡ mẫu tối thiểu", format!("{} phiếu; dưới mức này: chưa đủ dữ liệu, không xếp hạng, không xếp loại", report.min_sample)),
        ("Tỷ lệ hiệu chỉnh và xếp hạng", "Bayes thực nghiệm: phân phối tiên nghiệm beta-nhị thức ước lượng từ các đối tượng cùng nhóm (cùng phạm vi, cùng phiên bản phiếu) theo phương pháp mômen (Kleinman 1973); xếp hạng theo tỷ lệ hiệu chỉnh".into()),
        ("Biểu đồ phễu", format!("giới hạn 95% và 99,8% quanh tỷ lệ chung của nhóm, nhị thức chính xác (Spiegelhalter 2005); chỉ nới rộng theo hệ số phân tán φ khi kiểm định χ² (tổng bình phương z đã winsor hóa, I − 1 bậc tự do) bác bỏ giả thuyết chênh lệch do ngẫu nhiên ở mức {}%", rounding::fixed(OVERDISPERSION_LEVEL * 100.0, 0))),
        ("Giới hạn phễu của báo cáo này", funnel_lines(report)),
        ("Thay đổi so với kỳ trước", "kiểm định z hai tỷ lệ, giá trị p hai phía".into()),
        ("Tỷ lệ phiếu trên số hồ sơ", format!(
            "số phiếu của cán bộ (đơn vị) trong kỳ chia số hồ sơ phần mềm một cửa báo đã giải quyết trong kỳ, × 100; cảnh báo khi vượt 100%, \
             hoặc (cán bộ) khi gấp từ {} lần trở lên hay chỉ bằng 1/{} trở xuống mức chung của các cán bộ cùng đơn vị trong báo cáo, \
             khi cả hai có từ {} hồ sơ",
            crate::domain::report::COVERAGE_FAR_FACTOR, crate::domain::report::COVERAGE_FAR_FACTOR, crate::domain::report::COVERAGE_MIN_SERVED
        )),
        ("Làm tròn", "một quy tắc cho mọi đầu ra (trang, phiếu in, CSV, XLSX, JSON): làm tròn nửa lên (xa số 0) trên giá trị tính được; tỷ lệ, điểm trung bình và điểm tiêu chí 2 chữ số thập phân (trang web 1 chữ số), giá trị p 3 chữ số có nghĩa; Cronbach α chỉ ghi khi đủ cỡ mẫu tối thiểu".into()),
        ("Bảng xếp loại", format!("{} (bảng của tỉnh, có thể cấu hình; không phải quy định pháp luật): {}", report.bands.version, bands)),
        ("Quy tắc gợi ý mức xếp loại (NĐ 90/2020)", format!("{} — chỉ là gợi ý cho người đánh giá, không phải quyết định: {}", report.suggestion.version, rule)),
    ]
}

/// Per questionnaire version: the pooled share, φ estimated, the test, and whether the limits
/// were widened.
fn funnel_lines(report: &Report) -> String {
    if report.funnels.is_empty() {
        return "không có (không có nhóm đối tượng so sánh)".into();
    }
    let lines: Vec<String> = report
        .funnels
        .iter()
        .map(|(version, f)| {
            let test =
                f.dispersion_p.map_or("không kiểm định được (dưới 2 đối tượng)".to_owned(), |p| {
                    format!("kiểm định χ² p = {}", rounding::p_value_text(p))
                });
            let verdict = if f.widened() {
                format!("đã nới rộng theo φ = {}", rounding::fixed(f.phi, 2))
            } else {
                "không nới rộng".to_owned()
            };
            format!(
                "{version}: tỷ lệ chung {}%, φ ước lượng {}, {test}: {verdict}",
                rounding::fixed(f.target * 100.0, 2),
                rounding::fixed(f.phi_estimate, 2)
            )
        })
        .collect();
    lines.join("; ")
}

/// Writes the reports as one JSON document.
pub fn write_json(reports: &[Report], mut out: impl Write) -> std::io::Result<()> {
    let documents: Vec<Value> = reports
        .iter()
        .map(|report| {
            let header = columns(report);
            let rows: Vec<Value> = report
                .rows
                .iter()
                .map(|row| {
                    let mut object = Map::new();
                    for (c, cell) in header.iter().zip(cells(report, &header, row, false)) {
                        let value = match cell {
                            Cell::Text(s) => Value::String(s),
                            Cell::Number(x) => round2(x),
                            Cell::PValue(p) => json!(rounding::p_value(p)),
                            Cell::Count(n) => json!(n),
                            Cell::Bool(b) => json!(b),
                            Cell::Empty => Value::Null,
                        };
                        object.insert(c.key.clone(), value);
                    }
                    let distributions: Map<String, Value> = row
                        .figures
                        .distributions
                        .iter()
                        .map(|(q, levels)| {
                            let counts: Map<String, Value> =
                                levels.iter().map(|(v, n)| (v.to_string(), json!(n))).collect();
                            (q.clone(), Value::Object(counts))
                        })
                        .collect();
                    object.insert("distributions".into(), Value::Object(distributions));
                    let alpha: Map<String, Value> = row
                        .figures
                        .alpha
                        .iter()
                        // Below the minimum sample the pages do not show an alpha: nor does the
                        // file, which says why.
                        .map(|(e, (a, n))| {
                            let sufficient = *n >= report.min_sample;
                            let alpha = if sufficient { round2(*a) } else { Value::Null };
                            (e.clone(), json!({ "alpha": alpha, "responses": n, "sufficient": sufficient }))
                        })
                        .collect();
                    object.insert("cronbach_alpha".into(), Value::Object(alpha));
                    Value::Object(object)
                })
                .collect();
            let method: Map<String, Value> =
                method_lines(report).into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect();
            json!({
                "level": report.query.level.code(),
                "period": report.query.period.to_string(),
                "unit": report.query.unit,
                "questionnaire": report.query.questionnaire,
                "generated_at": clock::format_vietnam(report.generated_at_ms),
                "min_sample": report.min_sample,
                "bands_version": report.bands.version,
                "suggestion_version": report.suggestion.version,
                "method": method,
                "rows": rows,
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut out, &json!({ "reports": documents }))?;
    out.write_all(b"\n")
}

/// Writes the reports as an XLSX workbook: a sheet per report (level), then the method sheet.
pub fn write_xlsx(reports: &[Report], progress: &dyn Fn(u64)) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let header_format = CellFormat::new().set_bold().set_text_wrap().set_align(FormatAlign::Top);
    let number_format = CellFormat::new().set_num_format("0.00");
    let count_format = CellFormat::new().set_num_format("0");
    let mut written = 0;
    for report in reports {
        let header = columns(report);
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(report.query.level.vi().chars().take(31).collect::<String>())?;
        for (i, c) in header.iter().enumerate() {
            let col = u16::try_from(i).unwrap_or(u16::MAX);
            sheet.write_string_with_format(0, col, &c.vi, &header_format)?;
            let width = match c.kind {
                Kind::Text if c.key == "name" => 36.0,
                Kind::Text => 18.0,
                _ => 12.0,
            };
            sheet.set_column_width(col, width)?;
        }
        sheet.set_row_height(0, 60)?;
        for (r, row) in report.rows.iter().enumerate() {
            let line = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (i, cell) in cells(report, &header, row, true).into_iter().enumerate() {
                let col = u16::try_from(i).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(s) => sheet.write_string(line, col, s)?,
                    Cell::Number(x) => {
                        sheet.write_number_with_format(line, col, rounding::round(x, 2), &number_format)?
                    }
                    Cell::PValue(p) => sheet.write_number(line, col, rounding::p_value(p))?,
                    Cell::Count(n) => sheet.write_number_with_format(line, col, n as f64, &count_format)?,
                    Cell::Bool(b) => sheet.write_string(line, col, if b { "Đủ" } else { "Chưa đủ dữ liệu" })?,
                    Cell::Empty => sheet,
                };
            }
            written += 1;
            progress(written);
        }
        let last_col = u16::try_from(header.len().saturating_sub(1)).unwrap_or(u16::MAX);
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, u32::try_from(report.rows.len()).unwrap_or(u32::MAX), last_col)?;
    }
    write_distributions(&mut workbook, reports, &header_format, &count_format)?;
    if let Some(first) = reports.first() {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Phương pháp")?;
        sheet.set_column_width(0, 34)?;
        sheet.set_column_width(1, 110)?;
        sheet.write_string_with_format(0, 0, "Nội dung", &header_format)?;
        sheet.write_string_with_format(0, 1, "Giá trị", &header_format)?;
        let levels: Vec<&str> = reports.iter().map(|r| r.query.level.vi()).collect();
        let mut lines = vec![("Cấp báo cáo", levels.join(", "))];
        lines.extend(method_lines(first));
        for (i, (name, value)) in lines.iter().enumerate() {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            sheet.write_string(line, 0, *name)?;
            sheet.write_string(line, 1, value)?;
        }
    }
    workbook.save_to_buffer()
}

/// The answer distributions of every row, one line per (row, question, level): a long table
/// a spreadsheet can pivot.
fn write_distributions(
    workbook: &mut Workbook,
    reports: &[Report],
    header_format: &CellFormat,
    count_format: &CellFormat,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("Phân bố câu trả lời")?;
    let headers =
        ["Cấp", "Mã", "Tên", "Phiên bản phiếu", "Mã câu hỏi", "Câu hỏi", "Giá trị", "Mức trả lời", "Số phiếu"];
    for (i, (h, width)) in headers.iter().zip([14.0, 16.0, 30.0, 10.0, 18.0, 50.0, 8.0, 20.0, 10.0]).enumerate() {
        let col = u16::try_from(i).unwrap_or(u16::MAX);
        sheet.write_string_with_format(0, col, *h, header_format)?;
        sheet.set_column_width(col, width)?;
    }
    let mut line: u32 = 0;
    for report in reports {
        for row in &report.rows {
            let q = report.versions.iter().find(|q| q.version == row.questionnaire_version);
            for (question_id, levels) in &row.figures.distributions {
                let question = q.and_then(|q| q.question(question_id));
                let options = match (q, question) {
                    (Some(q), Some(question)) => q.options(question),
                    _ => &[],
                };
                for (value, count) in levels {
                    line += 1;
                    let label = options.iter().find(|l| l.value == *value).map_or("", |l| l.vi.as_str());
                    sheet.write_string(line, 0, report.query.level.vi())?;
                    sheet.write_string(line, 1, defused(&row.target.code))?;
                    sheet.write_string(line, 2, defused(&row.target.name))?;
                    sheet.write_number(line, 3, row.questionnaire_version as f64)?;
                    sheet.write_string(line, 4, question_id)?;
                    sheet.write_string(line, 5, question.map_or("", |x| x.vi.as_str()))?;
                    sheet.write_number(line, 6, *value as f64)?;
                    sheet.write_string(line, 7, label)?;
                    sheet.write_number_with_format(line, 8, *count as f64, count_format)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, line, 8)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_is_not() {
        assert_eq!(defused("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("+84 912"), "'+84 912");
        assert_eq!(defused("-1"), "'-1");
        assert_eq!(defused("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defused("Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(defused(" =1+1"), "' =1+1", "white space before a formula");
        assert_eq!(defused("\u{feff}=HYPERLINK(\"x\")"), "'\u{feff}=HYPERLINK(\"x\")", "a byte-order mark");
        assert_eq!(defused("\u{a0}\u{3000}@x"), "'\u{a0}\u{3000}@x");
        assert_eq!(defused("a = b"), "a = b");
    }
}
