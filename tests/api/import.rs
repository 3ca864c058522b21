//! Importing organisation lists from CSV and XLSX.

use std::path::{Path, PathBuf};

use hailong::import;
use hailong::store::Store;

use crate::helpers::TestDb;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/import")
}

fn csv_files() -> Vec<PathBuf> {
    ["units.csv", "desks.csv", "officers.csv", "fields.csv"].iter().map(|f| examples().join(f)).collect()
}

async fn import(store: &Store, files: &[PathBuf]) -> Result<hailong::store::ImportSummary, Vec<String>> {
    let tables = import::read_all(files).map_err(|e| vec![e])?;
    let known = store.known_codes().await.unwrap();
    let batch = import::validate(&tables, &known, store.clock().today())
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    Ok(store.import_org(&batch, "mot-cua", "test", &|_| {}).await.unwrap())
}

/// The organisation as the store sees it, for comparing two imports.
async fn snapshot(store: &Store) -> Vec<String> {
    let known = store.known_codes().await.unwrap();
    let mut rows: Vec<String> = known.units.iter().map(|u| format!("unit {u}")).collect();
    rows.extend(known.desks.iter().map(|(d, u)| format!("desk {d} of {u}")));
    for (officer, spans) in &known.assignments {
        rows.extend(spans.iter().map(|(from, to, unit)| format!("officer {officer} {from}..{to:?} at {unit}")));
    }
    rows.extend(store.fields().await.unwrap().iter().map(|f| format!("field {} {}", f.code, f.name)));
    rows.extend(store.active_points().await.unwrap().iter().map(|p| format!("point {}", p.label)));
    rows.sort();
    rows
}

#[tokio::test]
async fn the_sample_csv_files_import_and_a_second_import_changes_nothing() {
    let db = TestDb::new().await;
    let store = Store::open(&db.url, 2).await.unwrap();
    let first = import(&store, &csv_files()).await.unwrap();
    assert_eq!((first.units.0, first.desks.0, first.officers.0, first.assignments.0, first.fields.0), (7, 3, 3, 4, 3));
    // Units with a desk (2), desks (3), officers at a desk today (3).
    assert_eq!(first.points_created, 8);
    let before = snapshot(&store).await;
    let second = import(&store, &csv_files()).await.unwrap();
    assert!(second.changed_nothing(), "{second:?}");
    assert_eq!(snapshot(&store).await, before);
    store.close().await;
}

#[tokio::test]
async fn the_sample_workbook_holds_the_same_organisation() {
    let (csv_db, xlsx_db) = (TestDb::new().await, TestDb::new().await);
    let (from_csv, from_xlsx) =
        (Store::open(&csv_db.url, 2).await.unwrap(), Store::open(&xlsx_db.url, 2).await.unwrap());
    import(&from_csv, &csv_files()).await.unwrap();
    import(&from_xlsx, &[examples().join("to-chuc.xlsx")]).await.unwrap();
    let strip_points = |rows: Vec<String>| rows.into_iter().filter(|r| !r.starts_with("point ")).collect::<Vec<_>>();
    assert_eq!(strip_points(snapshot(&from_xlsx).await), strip_points(snapshot(&from_csv).await));
    from_csv.close().await;
    from_xlsx.close().await;
}

#[tokio::test]
async fn a_bad_row_is_reported_with_its_place_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let workbook = dir.path().join("sai.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("can_bo").unwrap();
    for (col, h) in ["code", "full_name", "unit_code", "desk_code", "valid_from"].iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    let rows = [
        ["QT001", "Nguyễn Văn Bình", "QT.TTHCC", "QT.TT.Q1", "2025-07-01"],
        ["QT009", "Phạm Văn Lỗi", "KHONG-CO", "", "2025-07-01"],
        ["QT010", "", "QT.TTHCC", "", "ngày mai"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save(&workbook).unwrap();

    let db = TestDb::new().await;
    let store = Store::open(&db.url, 2).await.unwrap();
    let mut files = vec![examples().join("units.csv"), examples().join("desks.csv")];
    files.push(workbook);
    let errors = import(&store, &files).await.unwrap_err();
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(has("[can_bo]: row 3, column unit_code: no unit has the code KHONG-CO"), "{errors:?}");
    assert!(has("[can_bo]: row 4, column full_name: is empty"), "{errors:?}");
    assert!(has("[can_bo]: row 4, column valid_from: 'ngày mai' is not a date"), "{errors:?}");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(store.known_codes().await.unwrap().units.is_empty(), "nothing written");
    store.close().await;
}

#[tokio::test]
async fn files_that_are_not_lists_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, "ma,ten\n1,x\n").unwrap();
    let tables = import::read_all(std::slice::from_ref(&odd)).unwrap();
    let errors = import::validate(&tables, &Default::default(), crate::helpers::TEST_MOMENT.date()).unwrap_err();
    assert!(errors[0].to_string().contains("is not one of the known tables"), "{}", errors[0]);

    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"code,name\nHT,H\xf4 t\xecch\n").unwrap();
    let error = import::read_all(&[latin1]).unwrap_err();
    assert!(error.contains("row 2") && error.contains("UTF-8"), "{error}");

    let error = import::read_all(&[dir.path().join("list.txt")]).unwrap_err();
    assert!(error.contains(".csv or .xlsx"), "{error}");
}

#[test]
fn a_damaged_workbook_is_refused_with_a_message_not_a_crash() {
    // Found by fuzzing the workbook reader: a cell range too large for its arithmetic.
    let damaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/damaged-dimension.xlsx");
    let error = import::read_file(&damaged).unwrap_err();
    assert!(error.contains("damaged-dimension.xlsx") && error.contains("cannot be read"), "{error}");
}
