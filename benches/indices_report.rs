//! A full-year report over ten million ratings: how long the officer-level report and its CSV
//! and XLSX exports take on SQLite and PostgreSQL, read from the month sums, against the same
//! report read from the day counts alone (no fold) in the same run.
//!
//!     cargo bench --bench indices_report -- [--responses 10000000] [--postgres URL] [--keep DIR]
//!
//! The generator draws every rating of a synthetic province (100 communes with 5 officers
//! each, a provincial centre with 80, 20 departments; 3 desks a commune, 20 procedure fields)
//! over the year 2026, officer by officer and day by day, and writes the answer counts those
//! ratings leave: exactly what the writer keeps in `answer_counts`. Reports never read the
//! responses themselves, so the responses are not written (that the kept counts equal the
//! responses recounted is what `hailong verify` and the store contract test check). Then it
//! folds the months, as the running service does hourly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hailong::app::reports::{build, detail, overview};
use hailong::config::Settings;
use hailong::domain::account::Scope;
use hailong::domain::period::Period;
use hailong::domain::report::Level;
use hailong::domain::report::Query;
use hailong::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::macros::date;

const COMMUNES: usize = 100;

struct Org {
    /// (id, code, name, kind, parent id)
    units: Vec<(i64, String, String, &'static str, Option<i64>)>,
    /// (id, code, unit id)
    desks: Vec<(i64, String, i64)>,
    /// (id, code, unit id, desk id, quality)
    officers: Vec<(i64, String, i64, i64, f64)>,
    fields: usize,
}

fn organisation(rng: &mut StdRng) -> Org {
    let mut org = Org {
        units: vec![(1, "BP".into(), "Tỉnh Bình Phong".into(), "tinh", None)],
        desks: vec![],
        officers: vec![],
        fields: 20,
    };
    let officer = |org: &mut Org, unit: i64, desk: i64, rng: &mut StdRng| {
        let id = org.officers.len() as i64 + 1;
        let quality = rng.random_range(0.70..0.97);
        org.officers.push((id, format!("CB{id:05}"), unit, desk, quality));
    };
    let desk = |org: &mut Org, unit: i64| {
        let id = org.desks.len() as i64 + 1;
        org.desks.push((id, format!("Q{id:05}"), unit));
        id
    };
    org.units.push((2, "BP.TTPVHCC".into(), "Trung tâm Phục vụ hành chính công".into(), "trung-tam", Some(1)));
    for d in 0..40 {
        let q = desk(&mut org, 2);
        officer(&mut org, 2, q, rng);
        if d % 2 == 0 {
            officer(&mut org, 2, q, rng);
            officer(&mut org, 2, q, rng);
        }
    }
    for s in 0..20 {
        let id = 3 + s as i64;
        org.units.push((id, format!("BP.SO{s:02}"), format!("Sở {s:02}"), "so", Some(1)));
        let q = desk(&mut org, id);
        officer(&mut org, id, q, rng);
    }
    for c in 0..COMMUNES {
        let commune = 100 + 2 * c as i64;
        org.units.push((commune, format!("BP.XA{c:03}"), format!("Xã {c:03}"), "xa", Some(1)));
        org.units.push((
            commune + 1,
            format!("BP.XA{c:03}.TT"),
            format!("Bộ phận Một cửa xã {c:03}"),
            "trung-tam",
            Some(commune),
        ));
        let desks: Vec<i64> = (0..3).map(|_| desk(&mut org, commune + 1)).collect();
        for o in 0..5 {
            officer(&mut org, commune + 1, desks[o % 3], rng);
        }
    }
    org
}

type Key = (i64, i64, i64, i64, i64, &'static str, i64);

/// Draws `responses` ratings over 2026 and sums them as the writer would.
fn draw(org: &Org, responses: u64, rng: &mut StdRng, mut day_done: impl FnMut(i64, HashMap<Key, i64>)) {
    let days: Vec<time::Date> = (0..365).map(|d| date!(2026 - 01 - 01) + time::Duration::days(d)).collect();
    let slots = (days.len() * org.officers.len()) as u64;
    let (base, extra) = (responses / slots, responses % slots);
    let mut slot = 0u64;
    for day in days {
        let bucket = i64::from(day.year()) * 10_000 + i64::from(u8::from(day.month())) * 100 + i64::from(day.day());
        let mut counts: HashMap<Key, i64> = HashMap::new();
        for &(officer, _, unit, desk, quality) in &org.officers {
            let n = base + u64::from(slot < extra);
            slot += 1;
            let desk_fields = [
                (desk * 7) % org.fields as i64 + 1,
                (desk * 11) % org.fields as i64 + 1,
                (desk * 13) % org.fields as i64 + 1,
            ];
            for _ in 0..n {
                let field = if rng.random_bool(0.3) { 0 } else { desk_fields[rng.random_range(0..3)] };
                let mut add = |question: &'static str, value: i64| {
                    *counts.entry((bucket, unit, desk, officer, field, question, value)).or_default() += 1;
                };
                add("", 0);
                let overall = if rng.random_bool(quality) { rng.random_range(4..=5) } else { rng.random_range(1..=3) };
                add("hai_long_chung", overall);
                if rng.random_bool(0.7) {
                    add(
                        "thuan_tien",
                        if rng.random_bool(quality) { rng.random_range(4..=5) } else { rng.random_range(1..=3) },
                    );
                }
                for question in ["ct1_thoi_gian", "ct3_di_lai", "ct4_co_quan", "ct6_cong_khai", "ct7_thai_do"] {
                    if rng.random_bool(0.6) {
                        add(question, if rng.random_bool(quality) { 2 } else { rng.random_range(0..=1) });
                    }
                }
            }
        }
        day_done(bucket, counts);
    }
}

async fn load(url: &str, org: &Org, responses: u64) -> (u64, Duration) {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(2026);
    let mut rows = 0u64;
    let units: Vec<String> = org
        .units
        .iter()
        .map(|(id, code, name, kind, parent)| {
            format!(
                "({id}, '{code}', '{name}', '{kind}', {}, '2025-07-01')",
                parent.map_or("NULL".into(), |p| p.to_string())
            )
        })
        .collect();
    let desks: Vec<String> =
        org.desks.iter().map(|(id, code, unit)| format!("({id}, '{code}', 'Quầy {code}', {unit})")).collect();
    let officers: Vec<String> =
        org.officers.iter().map(|(id, code, ..)| format!("({id}, '{code}', 'Cán bộ {code}')")).collect();
    let assignments: Vec<String> = org
        .officers
        .iter()
        .map(|(id, _, unit, desk, _)| format!("({id}, {id}, {unit}, {desk}, '2025-07-01')"))
        .collect();
    let fields: Vec<String> = (1..=org.fields).map(|f| format!("({f}, 'LV{f:02}', 'Lĩnh vực {f:02}')")).collect();
    let org_sql = [
        format!("INSERT INTO units (id, code, name, kind, parent_id, valid_from) VALUES {}", units.join(", ")),
        format!("INSERT INTO desks (id, code, name, unit_id) VALUES {}", desks.join(", ")),
        format!("INSERT INTO officers (id, code, full_name) VALUES {}", officers.join(", ")),
        format!(
            "INSERT INTO assignments (id, officer_id, unit_id, desk_id, valid_from) VALUES {}",
            assignments.join(", ")
        ),
        format!("INSERT INTO fields (id, code, name) VALUES {}", fields.join(", ")),
    ];
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for sql in &org_sql {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&pool).await.unwrap();
        }
        let mut tx = pool.begin().await.unwrap();
        let mut pending: Vec<(i64, Key, i64)> = Vec::new();
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<(Key, i64)>>(4);
        let org_officers = org.officers.clone();
        let org_desks = org.desks.clone();
        let generator = std::thread::spawn(move || {
            let org = Org { units: vec![], desks: org_desks, officers: org_officers, fields: 20 };
            draw(&org, responses, &mut rng, |_, counts| sender.blocking_send(counts.into_iter().collect()).unwrap());
        });
        while let Some(day) = receiver.recv().await {
            for (key, count) in day {
                pending.push((0, key, count));
                if pending.len() == 64 {
                    rows += insert_sqlite(&mut tx, &pending).await;
                    pending.clear();
                }
            }
        }
        rows += insert_sqlite(&mut tx, &pending).await;
        tx.commit().await.unwrap();
        generator.join().unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in &org_sql {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&pool).await.unwrap();
        }
        let mut conn = pool.acquire().await.unwrap();
        let mut copy = conn
            .copy_in_raw(
                "COPY answer_counts (local_day, unit_id, desk_id, officer_id, field_id, channel, questionnaire_id, \
                 questionnaire_version, question_id, value, count) FROM STDIN",
            )
            .await
            .unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let org_officers = org.officers.clone();
        let org_desks = org.desks.clone();
        let generator = std::thread::spawn(move || {
            let org = Org { units: vec![], desks: org_desks, officers: org_officers, fields: 20 };
            let mut total = 0u64;
            draw(&org, responses, &mut rng, |_, counts| {
                let mut text = String::with_capacity(counts.len() * 48);
                for ((day, unit, desk, officer, field, question, value), count) in counts {
                    use std::fmt::Write;
                    let _ = writeln!(
                        text,
                        "{day}\t{unit}\t{desk}\t{officer}\t{field}\tqr\tmot-cua\t1\t{question}\t{value}\t{count}"
                    );
                    total += 1;
                }
                sender.blocking_send(text.into_bytes()).unwrap();
            });
            total
        });
        while let Some(chunk) = receiver.recv().await {
            copy.send(chunk).await.unwrap();
        }
        copy.finish().await.unwrap();
        rows = generator.join().unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    }
    (rows, started.elapsed())
}

async fn insert_sqlite(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, rows: &[(i64, Key, i64)]) -> u64 {
    if rows.is_empty() {
        return 0;
    }
    let values = vec!["(?, ?, ?, ?, ?, 'qr', 'mot-cua', 1, ?, ?, ?)"; rows.len()].join(", ");
    let sql = format!(
        "INSERT INTO answer_counts (local_day, unit_id, desk_id, officer_id, field_id, channel, questionnaire_id, \
         questionnaire_version, question_id, value, count) VALUES {values}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (_, (day, unit, desk, officer, field, question, value), count) in rows {
        query = query.bind(day).bind(unit).bind(desk).bind(officer).bind(field).bind(*question).bind(value).bind(count);
    }
    query.execute(&mut **tx).await.unwrap();
    rows.len() as u64
}

/// The best of `runs` timings of `f`.
async fn best<T, F: std::future::Future<Output = T>>(runs: usize, mut f: impl FnMut() -> F) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let value = f().await;
        let took = started.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, value));
        }
    }
    best.unwrap()
}

async fn measure(label: &str, url: &str, org: &Org, responses: u64) {
    let store = Store::open(url, 4).await.unwrap();
    let (rows, took) = load(url, org, responses).await;
    println!("{label}: {responses} ratings drawn, {rows} day-count rows written in {:.1} s", took.as_secs_f64());
    let registry = hailong::startup::load_questionnaires(&store).await.unwrap();
    let settings = Settings::default();
    let query = Query {
        period: Period::parse("2026").unwrap(),
        level: Level::Officer,
        unit: None,
        questionnaire: "mot-cua".into(),
        channel: None,
        without_flagged: false,
    };
    let report = || build(&store, &registry, &settings, &query, &Scope::All);
    let (unfolded, r) = best(1, || async { report().await.unwrap() }).await;
    println!(
        "{label}: officer report, full year, from day counts only: {:.3} s ({} rows)",
        unfolded.as_secs_f64(),
        r.rows.len()
    );
    let started = Instant::now();
    let folded = store.fold_counts(date!(2026 - 12 - 31)).await.unwrap();
    println!("{label}: fold of {} months: {:.1} s", folded.rebuilt, started.elapsed().as_secs_f64());
    let (took, r) = best(3, || async { report().await.unwrap() }).await;
    let total: u64 = r.rows.iter().map(|r| r.responses).sum();
    assert_eq!(total, responses, "every rating is in the report");
    println!(
        "{label}: officer report, full year, from month sums: {:.3} s ({} officers)",
        took.as_secs_f64(),
        r.rows.len()
    );
    let (csv, bytes) = best(3, || async {
        let (report, mut out) = (report().await.unwrap(), Vec::new());
        hailong::export::write_csv(std::slice::from_ref(&report), &mut out, &|_| {}).unwrap();
        out.len()
    })
    .await;
    println!("{label}: report + CSV export: {:.3} s ({bytes} bytes)", csv.as_secs_f64());
    let (xlsx, bytes) = best(3, || async {
        let report = report().await.unwrap();
        hailong::export::write_xlsx(std::slice::from_ref(&report), &|_| {}).unwrap().len()
    })
    .await;
    println!("{label}: report + XLSX export: {:.3} s ({bytes} bytes)", xlsx.as_secs_f64());

    // The pages: the best-ranked officer's (its report, 12 months, 4 quarters, its unit beside
    // it), that unit's (with its officers' funnel), and the dashboard of everything.
    let officer = r.rows[0].target.clone();
    let unit = officer.parent_code.clone().unwrap();
    let (took, d) = best(3, || async {
        detail(&store, &registry, &settings, &query, &officer.code, &Scope::All, true).await.unwrap()
    })
    .await;
    println!("{label}: officer page: {:.3} s ({} ratings)", took.as_secs_f64(), d.rows[0].responses);
    let unit_query = Query { level: Level::Unit, ..query.clone() };
    let (took, d) = best(3, || async {
        detail(&store, &registry, &settings, &unit_query, &unit, &Scope::All, true).await.unwrap()
    })
    .await;
    let officers = d.officers.map_or(0, |o| o.rows.len());
    println!("{label}: unit page: {:.3} s ({officers} officers on its funnel)", took.as_secs_f64());
    let (took, _) = best(3, || async {
        overview(&store, &registry, &settings, &Scope::All, query.period, "mot-cua").await.unwrap()
    })
    .await;
    println!("{label}: dashboard: {:.3} s", took.as_secs_f64());
    store.close().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().skip_while(|a| *a != name).nth(1).cloned();
    let responses: u64 = arg("--responses").and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let mut rng = StdRng::seed_from_u64(7);
    let org = organisation(&mut rng);
    println!(
        "{} units, {} desks, {} officers, {} fields; {responses} ratings over 2026",
        org.units.len(),
        org.desks.len(),
        org.officers.len(),
        org.fields
    );
    let dir = match arg("--keep") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join("hailong-indices-bench"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    measure("sqlite", &format!("sqlite://{}", file.display()), &org, responses).await;
    if let Some(server) = arg("--postgres") {
        let admin = Store::admin_postgres(&server).await.unwrap();
        admin.drop_database("hailong_bench").await.unwrap();
        admin.create_database("hailong_bench").await.unwrap();
        let url = format!("{}/hailong_bench", server.rsplit_once('/').unwrap().0);
        measure("postgres", &url, &org, responses).await;
        admin.drop_database("hailong_bench").await.unwrap();
    }
}
