//! The binary's commands, run as a user runs them.

use std::process::{Command, Output};

use crate::helpers::TestDb;

fn hailong(db: &TestDb, args: &[&str]) -> Output {
    crate::helpers::cli(&db.url, args, &[("HAILONG_PUBLIC_BASE_URL", "https://danhgia.example.vn")])
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn demo_then_points_list_qr_and_posters() {
    let db = TestDb::new().await;
    let out = hailong(&db, &["demo", "--responses", "50"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("50 synthetic rating(s)"), "{}", stderr(&out));

    let out = hailong(&db, &["points", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["slug", "url", "unit_code", "desk_code", "officer_code", "label"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 39);
    let officer = rows.iter().find(|r| !r[4].is_empty()).unwrap();
    assert_eq!(&officer[1], format!("https://danhgia.example.vn/s/{}", &officer[0]));
    assert!(rows.iter().any(|r| r[3].is_empty() && r[4].is_empty()), "unit points have empty desk and officer");

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("qr.png");
    let out = hailong(&db, &["qr", &officer[0], "--format", "png", "--out", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let out = hailong(&db, &["qr", &officer[0], "--format", "svg", "--out", "-"]);
    assert!(stdout(&out).contains("<svg"));
    let out = hailong(&db, &["qr", "AAAAAAAAAAAA", "--out", "-"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no active collection point"), "{}", stderr(&out));

    let sheet = dir.path().join("posters.html");
    let out = hailong(&db, &["posters", "--unit", "HL.TAN-LOC.TT", "--out", sheet.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&sheet).unwrap();
    let cards = crate::helpers::texts(&html, "section.card");
    // The centre itself, its two desks and its five officers at a desk.
    assert_eq!(cards.len(), 8);
    assert!(cards.iter().all(|c| c.contains("quét mã") && c.contains("https://danhgia.example.vn/s/")));
    assert!(html.contains("@page"), "A4 print rules");
    let out = hailong(&db, &["posters", "--unit", "KHONG", "--out", "-"]);
    assert!(!out.status.success() && stderr(&out).contains("no unit has the code KHONG"));

    // Revoke and reissue from the command line.
    let out = hailong(&db, &["points", "reissue", &officer[0]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fresh = stdout(&out).trim().to_owned();
    assert_eq!(fresh.len(), 12);
    let out = hailong(&db, &["points", "revoke", &officer[0]]);
    assert!(!out.status.success(), "already revoked by the reissue");
}

#[tokio::test]
async fn import_reports_problems_and_writes_nothing() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("desks.csv");
    std::fs::write(&bad, "code,name,unit_code\nQ1,Quầy 1,KHONG\nQ2,,KHONG\n").unwrap();
    let out = hailong(&db, &["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("row 2, column unit_code: no unit has the code KHONG"), "{err}");
    assert!(err.contains("row 3, column name: is empty"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/import/to-chuc.xlsx");
    let out = hailong(&db, &["import", examples]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("units: 7 new"), "{}", stdout(&out));
    let out = hailong(&db, &["import", examples]);
    assert!(stdout(&out).contains("nothing changed"), "{}", stdout(&out));
}

#[test]
fn help_and_config_explain_themselves() {
    let out = Command::new(env!("CARGO_BIN_EXE_hailong")).arg("--help").output().unwrap();
    let help = stdout(&out);
    for command in ["serve", "demo", "import", "points", "qr", "posters", "config"] {
        assert!(help.contains(command), "--help lists {command}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hailong")).arg("config").output().unwrap();
    let parsed: hailong::config::Settings = toml::from_str(&stdout(&out)).unwrap();
    assert_eq!(parsed, hailong::config::Settings::default());

    let out = Command::new(env!("CARGO_BIN_EXE_hailong"))
        .args(["points", "list"])
        .env("HAILONG_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unsupported database URL"), "{}", stderr(&out));
}

#[tokio::test]
async fn lists_written_as_csv_never_carry_a_formula() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units.csv");
    std::fs::write(
        &units,
        "code,name,kind,valid_from\nU1,\"=HYPERLINK(\"\"http://x.example\"\",\"\"Xem\"\")\",xa,2025-07-01\n",
    )
    .unwrap();
    let desks = dir.path().join("desks.csv");
    std::fs::write(&desks, "code,name,unit_code\nD1,\u{feff} @SUM(1+1),U1\n").unwrap();
    let out = hailong(&db, &["import", units.to_str().unwrap(), desks.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = hailong(&db, &["points", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        for cell in row.iter() {
            let bare = cell.trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace());
            assert!(!bare.starts_with(['=', '+', '-', '@']), "a formula in {row:?}");
        }
    }
    assert!(text.contains("'=HYPERLINK"), "the name is kept, defused: {text}");
}
