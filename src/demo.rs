//! `hailong demo` and `serve --demo`: a realistic demo province and synthetic ratings.
//!
//! The organisation is fictional but shaped like a province after the 2025 reorganisation: a
//! provincial public-service centre with desks for several departments, departments without
//! desks, three communes with their service centres, and (for history) an abolished district
//! whose communes merged into one of the new communes. Ratings are spread over the past 12
//! months in office hours (Vietnam time), with officers of differing quality.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime, Time, Weekday};

use crate::domain::account;
use crate::domain::answer::Comment;
use crate::domain::clock::{self, VIETNAM};
use crate::domain::org::{Code, Name, NewAssignment, NewDesk, NewField, NewUnit, UnitKind, Validity};
use crate::domain::point::Point;
use crate::domain::questionnaire::{QuestionKind, Questionnaire, Registry};
use crate::domain::response::{Channel, IdempotencyKey, NewResponse};
use crate::store::{ImportSummary, OrgBatch, Store, StoreResult};

/// (code, name, kind, parent, valid_from, valid_to, successor)
type UnitSpec = (
    &'static str,
    &'static str,
    UnitKind,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const UNITS: &[UnitSpec] = &[
    ("HL", "Tỉnh Hòa Lâm", UnitKind::Province, None, "2025-07-01", None, None),
    ("HL.SNV", "Sở Nội vụ", UnitKind::Department, Some("HL"), "2025-07-01", None, None),
    ("HL.STP", "Sở Tư pháp", UnitKind::Department, Some("HL"), "2025-07-01", None, None),
    ("HL.SXD", "Sở Xây dựng", UnitKind::Department, Some("HL"), "2025-07-01", None, None),
    (
        "HL.TTPVHCC",
        "Trung tâm Phục vụ hành chính công tỉnh",
        UnitKind::ServiceCentre,
        Some("HL"),
        "2025-07-01",
        None,
        None,
    ),
    ("HL.AN-PHU", "Phường An Phú", UnitKind::Ward, Some("HL"), "2025-07-01", None, None),
    (
        "HL.AN-PHU.TT",
        "Trung tâm Phục vụ hành chính công phường An Phú",
        UnitKind::ServiceCentre,
        Some("HL.AN-PHU"),
        "2025-07-01",
        None,
        None,
    ),
    ("HL.TAN-LOC", "Xã Tân Lộc", UnitKind::Commune, Some("HL"), "2025-07-01", None, None),
    (
        "HL.TAN-LOC.TT",
        "Trung tâm Phục vụ hành chính công xã Tân Lộc",
        UnitKind::ServiceCentre,
        Some("HL.TAN-LOC"),
        "2025-07-01",
        None,
        None,
    ),
    ("HL.BINH-MINH", "Xã Bình Minh", UnitKind::Commune, Some("HL"), "2025-07-01", None, None),
    (
        "HL.BINH-MINH.TT",
        "Trung tâm Phục vụ hành chính công xã Bình Minh",
        UnitKind::ServiceCentre,
        Some("HL.BINH-MINH"),
        "2025-07-01",
        None,
        None,
    ),
    // Before 1 July 2025: a district and two of its communes, merged into Xã Tân Lộc.
    ("HL.H-LOC-HA", "Huyện Lộc Hà", UnitKind::District, Some("HL"), "2010-01-01", Some("2025-06-30"), None),
    (
        "HL.H-LOC-HA.TAN-LOC",
        "Xã Tân Lộc (cũ)",
        UnitKind::Commune,
        Some("HL.H-LOC-HA"),
        "2010-01-01",
        Some("2025-06-30"),
        Some("HL.TAN-LOC"),
    ),
    (
        "HL.H-LOC-HA.PHU-LOC",
        "Xã Phú Lộc",
        UnitKind::Commune,
        Some("HL.H-LOC-HA"),
        "2010-01-01",
        Some("2025-06-30"),
        Some("HL.TAN-LOC"),
    ),
];

const DESKS: &[(&str, &str, &str)] = &[
    ("HL.TT.Q01", "Quầy 1 — Tư pháp, hộ tịch", "HL.TTPVHCC"),
    ("HL.TT.Q02", "Quầy 2 — Xây dựng", "HL.TTPVHCC"),
    ("HL.TT.Q03", "Quầy 3 — Nông nghiệp và Môi trường", "HL.TTPVHCC"),
    ("HL.TT.Q04", "Quầy 4 — Tài chính, đầu tư", "HL.TTPVHCC"),
    ("HL.AP.Q1", "Quầy 1 — Hộ tịch, chứng thực", "HL.AN-PHU.TT"),
    ("HL.AP.Q2", "Quầy 2 — Đất đai, xây dựng", "HL.AN-PHU.TT"),
    ("HL.TL.Q1", "Quầy 1 — Hộ tịch, chứng thực", "HL.TAN-LOC.TT"),
    ("HL.TL.Q2", "Quầy 2 — Đất đai, chính sách xã hội", "HL.TAN-LOC.TT"),
    ("HL.BM.Q1", "Quầy 1 — Hộ tịch, chứng thực", "HL.BINH-MINH.TT"),
    ("HL.BM.Q2", "Quầy 2 — Đất đai, chính sách xã hội", "HL.BINH-MINH.TT"),
];

/// (code, full name, unit, desk, valid_from, valid_to)
type OfficerSpec = (&'static str, &'static str, &'static str, Option<&'static str>, &'static str, Option<&'static str>);

const OFFICERS: &[OfficerSpec] = &[
    ("CB001", "Nguyễn Thị Lan", "HL.TTPVHCC", Some("HL.TT.Q01"), "2025-07-01", None),
    ("CB002", "Trần Văn Hùng", "HL.TTPVHCC", Some("HL.TT.Q01"), "2025-07-01", None),
    ("CB003", "Lê Minh Tuấn", "HL.TTPVHCC", Some("HL.TT.Q01"), "2025-07-01", None),
    ("CB004", "Phạm Thu Hương", "HL.TTPVHCC", Some("HL.TT.Q02"), "2025-07-01", None),
    ("CB005", "Hoàng Đức Anh", "HL.TTPVHCC", Some("HL.TT.Q02"), "2025-07-01", None),
    ("CB006", "Vũ Thị Mai", "HL.TTPVHCC", Some("HL.TT.Q02"), "2025-07-01", None),
    ("CB007", "Đặng Quốc Bảo", "HL.TTPVHCC", Some("HL.TT.Q03"), "2025-07-01", None),
    ("CB008", "Bùi Thị Ngọc Ánh", "HL.TTPVHCC", Some("HL.TT.Q03"), "2025-07-01", None),
    ("CB009", "Đỗ Văn Nam", "HL.TTPVHCC", Some("HL.TT.Q03"), "2025-07-01", None),
    ("CB010", "Hồ Thị Thanh Thảo", "HL.TTPVHCC", Some("HL.TT.Q04"), "2025-07-01", None),
    ("CB011", "Ngô Minh Khôi", "HL.TTPVHCC", Some("HL.TT.Q04"), "2025-07-01", None),
    // Moved from the provincial centre to An Phú on 1 April 2026: the ratings follow.
    ("CB012", "Dương Thị Hạnh", "HL.TTPVHCC", Some("HL.TT.Q04"), "2025-07-01", Some("2026-03-31")),
    ("CB012", "Dương Thị Hạnh", "HL.AN-PHU.TT", Some("HL.AP.Q1"), "2026-04-01", None),
    ("CB013", "Lý Văn Phúc", "HL.AN-PHU.TT", Some("HL.AP.Q1"), "2025-07-01", None),
    ("CB014", "Trịnh Thị Yến", "HL.AN-PHU.TT", Some("HL.AP.Q1"), "2025-07-01", None),
    ("CB015", "Mai Xuân Trường", "HL.AN-PHU.TT", Some("HL.AP.Q2"), "2025-07-01", None),
    ("CB016", "Cao Thị Kim Oanh", "HL.AN-PHU.TT", Some("HL.AP.Q2"), "2025-07-01", None),
    // Worked at the old commune before the merger, then at the new one.
    ("CB017", "Phan Văn Lộc", "HL.H-LOC-HA.TAN-LOC", None, "2018-03-01", Some("2025-06-30")),
    ("CB017", "Phan Văn Lộc", "HL.TAN-LOC.TT", Some("HL.TL.Q1"), "2025-07-01", None),
    ("CB018", "Nguyễn Hữu Thắng", "HL.TAN-LOC.TT", Some("HL.TL.Q1"), "2025-07-01", None),
    ("CB019", "Lê Thị Bích Ngọc", "HL.TAN-LOC.TT", Some("HL.TL.Q2"), "2025-07-01", None),
    ("CB020", "Trần Quang Huy", "HL.TAN-LOC.TT", Some("HL.TL.Q2"), "2025-07-01", None),
    ("CB021", "Võ Thị Thu Trang", "HL.TAN-LOC.TT", Some("HL.TL.Q2"), "2025-07-01", None),
    ("CB022", "Huỳnh Văn Sơn", "HL.BINH-MINH.TT", Some("HL.BM.Q1"), "2025-07-01", None),
    ("CB023", "Phạm Ngọc Diệp", "HL.BINH-MINH.TT", Some("HL.BM.Q1"), "2025-07-01", None),
    ("CB024", "Đinh Công Minh", "HL.BINH-MINH.TT", Some("HL.BM.Q2"), "2025-07-01", None),
    ("CB025", "Tạ Thị Phương", "HL.BINH-MINH.TT", Some("HL.BM.Q2"), "2025-07-01", None),
];

const FIELDS: &[(&str, &str)] = &[
    ("HT", "Hộ tịch"),
    ("CT", "Chứng thực"),
    ("DD", "Đất đai"),
    ("XD", "Xây dựng"),
    ("DKKD", "Đăng ký kinh doanh"),
    ("DT", "Đầu tư"),
    ("BTXH", "Bảo trợ xã hội"),
    ("NCC", "Người có công"),
    ("MT", "Môi trường"),
];

const COMMENTS: &[&str] = &[
    "Cán bộ hướng dẫn rất nhiệt tình, dễ hiểu.",
    "Thời gian chờ hơi lâu, nên bố trí thêm ghế ngồi.",
    "Thủ tục nhanh gọn, cảm ơn cán bộ.",
    "Phải đi lại hai lần vì hướng dẫn ban đầu chưa đủ.",
    "Cần có chỗ gửi xe rộng hơn.",
    "Có gì cần bổ sung xin gọi 0912 345 678.",
    "Trả kết quả đúng hẹn, rất hài lòng.",
];

fn code(text: &str) -> Code {
    Code::parse(text).unwrap_or_else(|e| unreachable!("demo code {text}: {e}"))
}

fn name(text: &str) -> Name {
    Name::parse(text).unwrap_or_else(|e| unreachable!("demo name {text}: {e}"))
}

fn validity(from: &str, to: Option<&str>) -> Validity {
    let from = clock::parse_date(from).unwrap_or_else(|e| unreachable!("{e}"));
    let to = to.map(|t| clock::parse_date(t).unwrap_or_else(|e| unreachable!("{e}")));
    Validity::new(from, to).unwrap_or_else(|e| unreachable!("{e}"))
}

/// The demo organisation as an import batch.
pub fn organisation() -> OrgBatch {
    OrgBatch {
        units: UNITS
            .iter()
            .map(|&(c, n, kind, parent, from, to, successor)| NewUnit {
                code: code(c),
                name: name(n),
                kind,
                parent: parent.map(code),
                validity: validity(from, to),
                successor: successor.map(code),
            })
            .collect(),
        desks: DESKS.iter().map(|&(c, n, u)| NewDesk { code: code(c), name: name(n), unit: code(u) }).collect(),
        assignments: OFFICERS
            .iter()
            .map(|&(c, n, u, d, from, to)| NewAssignment {
                officer: code(c),
                full_name: name(n),
                unit: code(u),
                desk: d.map(code),
                validity: validity(from, to),
            })
            .collect(),
        fields: FIELDS.iter().map(|&(c, n)| NewField { code: code(c), name: name(n) }).collect(),
        served: Vec::new(),
    }
}

/// Creates the demo's `admin` account if there is none, and returns its password, which is
/// shown once and stored only as a hash.
pub async fn ensure_admin(store: &Store) -> StoreResult<Option<String>> {
    if store.login_record("admin").await?.is_some() {
        return Ok(None);
    }
    let mut bytes = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let password = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || account::hash_password(&to_hash))
        .await
        .map_err(|e| crate::store::StoreError::Config(e.to_string()))?
        .map_err(crate::store::StoreError::Config)?;
    store.create_user("admin", account::Role::Admin, None, Some(&hash), "demo").await?;
    Ok(Some(password))
}

/// What the demo made.
#[derive(Debug)]
pub struct DemoSummary {
    pub organisation: ImportSummary,
    pub responses: u64,
}

/// Seeds the organisation (idempotent), points for everything, the SIPAS questionnaire on each
/// unit-level point, and `responses` synthetic ratings. `progress` is told of each batch.
pub async fn seed(
    store: &Store,
    questionnaires: &Registry,
    responses: u64,
    seed: u64,
    progress: impl Fn(u64),
) -> StoreResult<DemoSummary> {
    let organisation =
        store.import_org(&organisation(), crate::domain::questionnaire::DEFAULT_ID, "demo", &|_| {}).await?;
    let points = store.active_points().await?;
    if organisation.points_created > 0 && questionnaires.latest("sipas-2017").is_some() {
        for p in points.iter().filter(|p| p.desk_code.is_none() && p.officer_code.is_none()) {
            store.set_point_questionnaire(&p.slug, "sipas-2017", "demo").await?;
        }
    }
    let points = store.active_points().await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let now = clock::vietnam_time(store.clock().now_ms());
    let mut written = 0;
    while written < responses {
        let n = (responses - written).min(1000);
        let batch: Vec<NewResponse> =
            (0..n).filter_map(|_| synthetic(&mut rng, &points, questionnaires, now)).collect();
        store.commit_group(&batch).await?;
        written += n;
        progress(n);
    }
    Ok(DemoSummary { organisation, responses: written })
}

/// One synthetic rating at a random office-hour moment of the past year.
fn synthetic(
    rng: &mut StdRng,
    points: &[Point],
    questionnaires: &Registry,
    now: OffsetDateTime,
) -> Option<NewResponse> {
    // Officers' posters get most ratings, then desks', then units'.
    let weight = |p: &Point| match (&p.officer_code, &p.desk_code) {
        (Some(_), _) => 8,
        (None, Some(_)) => 3,
        _ => 1,
    };
    let total: u32 = points.iter().map(weight).sum();
    let mut pick = rng.random_range(0..total.max(1));
    let index = points.iter().position(|p| {
        let w = weight(p);
        if pick < w {
            true
        } else {
            pick -= w;
            false
        }
    })?;
    let point = &points[index];
    let questionnaire = questionnaires.latest(&point.questionnaire_id)?;
    // Each officer (or desk, or unit) has a steady quality between 0.55 and 0.97.
    let label_hash = point.label.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let quality = 0.55 + f64::from(label_hash % 43) / 100.0;

    let answers = answers(rng, questionnaire, quality);
    let field = rng.random_bool(0.6).then(|| FIELDS[rng.random_range(0..FIELDS.len())].0.to_owned());
    let comment = if rng.random_bool(0.05) {
        Comment::parse(COMMENTS[rng.random_range(0..COMMENTS.len())]).ok().flatten()
    } else {
        None
    };
    let submitted_at_ms = office_hour(rng, now);
    Some(NewResponse {
        point_id: point.id,
        questionnaire_id: questionnaire.id.as_str().into(),
        questionnaire_version: questionnaire.version,
        answers,
        field,
        comment,
        channel: Channel::Demo,
        submitted_at_ms,
        // Drawn as a form would have been, a little before the rating was sent.
        key: IdempotencyKey::generate_at(submitted_at_ms - 45_000),
        receipt: None,
        device: None,
    })
}

fn answers(rng: &mut StdRng, q: &Questionnaire, quality: f64) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for question in &q.questions {
        if !question.required && !rng.random_bool(0.7) {
            continue;
        }
        let value = match question.kind {
            QuestionKind::Satisfaction | QuestionKind::Criterion => {
                if rng.random_bool(quality) {
                    if rng.random_bool(0.55) { 5 } else { 4 }
                } else {
                    match rng.random_range(0..10) {
                        0..=5 => 3,
                        6..=8 => 2,
                        _ => 1,
                    }
                }
            }
            QuestionKind::Indicator => {
                if rng.random_bool(quality) {
                    2
                } else if rng.random_bool(0.7) {
                    1
                } else {
                    0
                }
            }
        };
        if q.options(question).iter().any(|l| l.value == value) {
            out.push((question.id.clone(), value));
        }
    }
    let derived = q.derived(&out);
    out.extend(derived);
    out
}

/// A weekday of the past 365 days, 07:30–11:30 or 13:30–17:00 in Vietnam.
fn office_hour(rng: &mut StdRng, now: OffsetDateTime) -> i64 {
    let today = now.to_offset(VIETNAM).date();
    loop {
        let date = today - Duration::days(rng.random_range(0..365));
        if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            continue;
        }
        let minute = if rng.random_bool(0.55) { rng.random_range(450..690) } else { rng.random_range(810..1020) };
        let time =
            Time::from_hms((minute / 60) as u8, (minute % 60) as u8, rng.random_range(0..60)).unwrap_or(Time::MIDNIGHT);
        let at = date.with_time(time).assume_offset(VIETNAM);
        if at <= now {
            return at.unix_timestamp() * 1000;
        }
    }
}
