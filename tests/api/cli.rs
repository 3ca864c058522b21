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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_reads_a_database_refuses_a_file_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("tinhh.db");
    let url = format!("sqlite://{}", missing.display());
    for args in [
        &["points", "list"][..],
        &["qr", "AAAAAAAAAAAA", "--out", "-"],
        &["posters", "--unit", "HL", "--out", "-"],
        &["export", "--period", "2026", "--level", "unit", "--format", "csv", "--out", "-"],
        &["verify"],
        &["user", "list"],
        &["apikey", "revoke", "hl_abcdef"],
    ] {
        let out = crate::helpers::cli(&url, args, &[]);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("tinhh.db") && err.contains("does not exist"), "{args:?}: {err}");
        assert!(!missing.exists(), "{args:?} made no empty database");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_names_the_table_a_file_was_taken_for_and_reads_semicolons() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let desks = dir.path().join("quay.csv");
    std::fs::write(&desks, "code,name,unit\nQ1,Quầy 1,HL\n").unwrap();
    let out = hailong(&db, &["import", desks.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("read as a desks table") && err.contains("'unit' should be 'unit_code'"), "{err}");

    // As Excel saves "CSV (semicolon)" where the decimal mark is a comma, with a BOM.
    let units = dir.path().join("don-vi.csv");
    std::fs::write(&units, "\u{feff}code;name;kind;valid_from\r\nT;Tỉnh Thử;tinh;01/07/2025\r\n").unwrap();
    let out = hailong(&db, &["import", units.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("units: 1 new"), "{}", stdout(&out));
}

/// Reads a child's standard output until a line containing `end`, or panics after a while.
fn read_until(reader: &mut impl std::io::BufRead, end: &str) -> String {
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while std::time::Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.push_str(&line);
        if line.contains(end) {
            return text;
        }
    }
    panic!("no line with {end:?} in:\n{text}");
}

#[test]
fn serve_demo_ends_its_start_up_with_one_block_and_plain_logs() {
    use std::io::BufReader;
    use std::process::Stdio;
    if std::env::var("HAILONG_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        return; // One backend is enough for what the terminal shows.
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_hailong"))
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            .env("HAILONG_DATABASE_URL", &url)
            .env("HAILONG_METRICS_BIND", "127.0.0.1:0")
            .env("HAILONG_CLOCK_START", crate::helpers::TEST_MOMENT_TEXT)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = start();
    let block = read_until(&mut BufReader::new(first.stdout.take().unwrap()), "Request logs follow");
    first.kill().unwrap();
    let output = first.wait_with_output().unwrap();
    for line in [
        "hailong is listening on http://127.0.0.1:",
        "2000 synthetic rating(s) added",
        "/admin/login",
        "account         admin",
        "password        ",
        "authenticator app",
        "/s/",
    ] {
        assert!(block.contains(line), "{line:?} in:\n{block}");
    }
    assert!(block.contains(&format!("points list --database-url {url}")), "a command that works as written:\n{block}");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(!logs.contains('\u{1b}'), "no colour codes when the logs are not on a terminal:\n{logs}");
    // A field of nothing done (`linked=0`), not a value that begins with 0 (a key id).
    let zero = logs.split_whitespace().any(|field| field.ends_with("=0"));
    assert!(!logs.contains("repair") && !zero, "no line about nothing done:\n{logs}");

    let mut again = start();
    let block = read_until(&mut BufReader::new(again.stdout.take().unwrap()), "Request logs follow");
    again.kill().unwrap();
    let _ = again.wait();
    assert!(!block.contains("synthetic rating"), "seeded once:\n{block}");
    assert!(
        block.contains("password was shown at the first start") && block.contains("user password admin"),
        "{block}"
    );
}
