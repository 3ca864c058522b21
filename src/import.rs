//! `hailong import`: units, desks, officers (with their assignments) and procedure fields from
//! CSV or XLSX files, the way provinces keep these lists.
//!
//! A CSV file is one table; an XLSX workbook holds one table per sheet. What a table holds is
//! told by its header row (see the README for the columns). Every row is checked, and every
//! problem is reported with its file, sheet, row number, column and reason; a failed import
//! writes nothing, and importing the same files twice changes nothing.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use time::Date;

use crate::domain::clock::{self, parse_date};
use crate::domain::org::{
    Code, Name, NewAssignment, NewDesk, NewField, NewUnit, UnitKind, Validity, find_parent_cycle,
};
use crate::store::{KnownCodes, OrgBatch};

/// One problem in one place of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub place: String,
    pub row: usize,
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}: row {}, column {c}: {}", self.place, self.row, self.reason),
            None => write!(f, "{}: row {}: {}", self.place, self.row, self.reason),
        }
    }
}

/// What kind of list a table is, told by its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    Units,
    Desks,
    Officers,
    Fields,
    /// Dossiers served per officer and day, from the one-stop software.
    Served,
}

impl TableKind {
    fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Units => (&["code", "name", "kind", "valid_from"], &["parent_code", "valid_to", "successor_code"]),
            Self::Desks => (&["code", "name", "unit_code"], &[]),
            Self::Officers => (&["code", "full_name", "unit_code", "valid_from"], &["desk_code", "valid_to"]),
            Self::Fields => (&["code", "name"], &[]),
            Self::Served => (&["date", "unit_code", "officer_code", "dossiers"], &[]),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Units => "units",
            Self::Desks => "desks",
            Self::Officers => "officers",
            Self::Fields => "fields",
            Self::Served => "served",
        }
    }

    const ALL: [Self; 5] = [Self::Units, Self::Desks, Self::Officers, Self::Fields, Self::Served];

    /// Which table a header is: the kind whose columns it matches best (a column that names a
    /// missing one loosely, as `unit` for `unit_code`, counts half), then the one it completes.
    /// A header taken for a kind but lacking some of its columns is said as such, naming them.
    fn classify(header: &[String]) -> Result<Self, String> {
        let has = |c: &str| header.iter().any(|h| h == c);
        let score = |kind: Self| {
            let (required, optional) = kind.columns();
            let exact =
                header.iter().filter(|h| required.contains(&h.as_str()) || optional.contains(&h.as_str())).count();
            let missing: Vec<&str> = required.iter().copied().filter(|c| !has(c)).collect();
            let loose = missing.iter().filter(|m| header.iter().any(|h| loosely_names(h, m))).count();
            (2 * exact + loose, std::cmp::Reverse(missing.len()))
        };
        let kind = Self::ALL.into_iter().max_by_key(|k| score(*k)).unwrap_or(Self::Fields);
        if score(kind).0 < 2 * 2 {
            return Err(format!(
                "the header ({}) is not one of the known tables: units, desks, officers, fields, served (see the README)",
                header.join(",")
            ));
        }
        let (required, optional) = kind.columns();
        let missing: Vec<&str> = required.iter().copied().filter(|c| !has(c)).collect();
        if !missing.is_empty() {
            let hints: Vec<String> = missing
                .iter()
                .filter_map(|m| header.iter().find(|h| loosely_names(h, m)).map(|h| format!("'{h}' should be '{m}'")))
                .collect();
            return Err(format!(
                "read as a {} table (by its columns {}), it lacks the column(s) {}{}",
                kind.name(),
                header
                    .iter()
                    .filter(|h| required.contains(&h.as_str()) || optional.contains(&h.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                missing.join(", "),
                if hints.is_empty() { String::new() } else { format!(" ({})", hints.join("; ")) }
            ));
        }
        let unknown: Vec<_> =
            header.iter().filter(|h| !required.contains(&h.as_str()) && !optional.contains(&h.as_str())).collect();
        if let Some(u) = unknown.first() {
            return Err(format!(
                "column '{u}' is not a column of a {} table (its columns: {})",
                kind.name(),
                required.iter().chain(optional).copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
            return Err(format!("column '{dup}' appears twice"));
        }
        Ok(kind)
    }
}

/// Whether a header cell loosely names the column `wanted`: the same letters but for case,
/// spaces and '-' against '_', or the column without its `_code` part (`unit` for `unit_code`).
fn loosely_names(cell: &str, wanted: &str) -> bool {
    let norm = |s: &str| s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    let cell = norm(cell);
    !cell.is_empty() && (cell == wanted || wanted.strip_suffix("_code").is_some_and(|stem| cell == stem))
}

/// A table as read from a file: where it came from, its header, and its rows with their
/// spreadsheet row numbers (the header is row 1 in a plain file).
#[derive(Clone, Debug)]
pub struct Table {
    pub place: String,
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads the tables of a file, by its extension.
pub fn read_file(path: &Path) -> Result<Vec<Table>, String> {
    let place = path.display().to_string();
    let format = Format::of(path).ok_or_else(|| format!("{place}: expected a .csv or .xlsx file"))?;
    let bytes = std::fs::read(path).map_err(|e| format!("{place}: {e}"))?;
    read_bytes(&place, format, &bytes)
}

/// The kinds of file an organisation list comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// A spreadsheet workbook (`.xlsx`, `.xlsm`, `.xls`, `.ods`).
    Workbook,
}

impl Format {
    /// By the file's extension.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Some(Self::Csv),
            Some("xlsx" | "xlsm" | "xls" | "ods") => Some(Self::Workbook),
            _ => None,
        }
    }
}

/// Reads the tables of a file's contents; `place` names the file in messages.
pub fn read_bytes(place: &str, format: Format, bytes: &[u8]) -> Result<Vec<Table>, String> {
    match format {
        Format::Csv => read_csv(place, bytes).map(|t| vec![t]),
        Format::Workbook => read_workbook(place, bytes),
    }
}

fn read_csv(place: &str, bytes: &[u8]) -> Result<Table, String> {
    let place = place.to_owned();
    // Spreadsheet programs often save UTF-8 with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter(bytes)).from_reader(bytes);
    let mut rows = Vec::new();
    let mut header = None;
    for (i, record) in reader.byte_records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| format!("{place}: row {row}: {e}"))?;
        let mut cells = Vec::with_capacity(record.len());
        for field in &record {
            let text = std::str::from_utf8(field)
                .map_err(|_| format!("{place}: row {row}: not UTF-8 text (save the file as CSV UTF-8)"))?;
            cells.push(text.trim().to_owned());
        }
        if header.is_none() {
            header = Some(cells.into_iter().map(|c| c.to_ascii_lowercase()).collect());
        } else if cells.iter().any(|c| !c.is_empty()) {
            rows.push((row, cells));
        }
    }
    let header = header.ok_or_else(|| format!("{place}: the file is empty"))?;
    Ok(Table { place, header, rows })
}

/// The separator of a CSV file: `;` when its first line has more of them than commas (Excel
/// saves so where the decimal mark is a comma, as in Vietnamese regional settings), else `,`.
fn delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |sep: u8| first.iter().filter(|b| **b == sep).count();
    if count(b';') > count(b',') { b';' } else { b',' }
}

/// Reads a workbook. The spreadsheet reader can panic on a damaged file (an arithmetic
/// overflow on a cell range such as `ZZZZZZZZ1`, found by fuzzing): that is caught here and
/// said as what it is, a file that cannot be read, rather than a crash.
fn read_workbook(file: &str, bytes: &[u8]) -> Result<Vec<Table>, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_workbook_unguarded(file, bytes)))
        .unwrap_or_else(|_| Err(format!("{file}: the workbook is damaged and cannot be read (save it again as .xlsx)")))
}

fn read_workbook_unguarded(file: &str, bytes: &[u8]) -> Result<Vec<Table>, String> {
    let cursor = std::io::Cursor::new(bytes);
    let mut workbook = calamine::open_workbook_auto_from_rs(cursor).map_err(|e| format!("{file}: {e}"))?;
    let mut tables = Vec::new();
    for sheet in workbook.sheet_names() {
        let place = format!("{file} [{sheet}]");
        let range = workbook.worksheet_range(&sheet).map_err(|e| format!("{place}: {e}"))?;
        let first_row = range.start().map_or(0, |(r, _)| r as usize);
        let mut header: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for (i, cells) in range.rows().enumerate() {
            let row = first_row + i + 1;
            let cells: Vec<String> = cells.iter().map(cell_text).collect();
            if header.is_none() {
                if cells.iter().any(|c| !c.is_empty()) {
                    header = Some(cells.into_iter().map(|c| c.to_ascii_lowercase()).collect());
                }
            } else if cells.iter().any(|c| !c.is_empty()) {
                rows.push((row, cells));
            }
        }
        if let Some(mut header) = header {
            while header.last().is_some_and(String::is_empty) {
                header.pop();
            }
            tables.push(Table { place, header, rows });
        }
    }
    if tables.is_empty() {
        return Err(format!("{file}: no sheet has a header row"));
    }
    Ok(tables)
}

/// A cell as text; whole numbers without a decimal point, dates as ISO dates.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e}"),
    }
}

/// Checks every row of every table against each other and against what the database holds,
/// and builds the batch; or returns every problem found.
///
/// One function because the tables are checked in the order their references need (units, then
/// desks, then assignments and fields), each against what the earlier ones and the database hold,
/// keeping every row's file and line for the message. `today` (Vietnam) is the last day a
/// served count may be reported for.
pub fn validate(tables: &[Table], known: &KnownCodes, today: time::Date) -> Result<OrgBatch, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut batch = OrgBatch::default();
    let mut unit_rows: Vec<(&Table, usize, HashMap<&str, &str>)> = Vec::new();
    let mut desk_rows = Vec::new();
    let mut officer_rows = Vec::new();
    let mut field_rows = Vec::new();
    let mut served_rows = Vec::new();

    for table in tables {
        let kind = match TableKind::classify(&table.header) {
            Ok(kind) => kind,
            Err(reason) => {
                errors.push(RowError { place: table.place.clone(), row: 1, column: None, reason });
                continue;
            }
        };
        for (row, cells) in &table.rows {
            if cells.len() > table.header.len() && cells[table.header.len()..].iter().any(|c| !c.is_empty()) {
                errors.push(RowError {
                    place: table.place.clone(),
                    row: *row,
                    column: None,
                    reason: format!("has more cells than the header's {} columns", table.header.len()),
                });
                continue;
            }
            let record: HashMap<&str, &str> = table
                .header
                .iter()
                .map(String::as_str)
                .zip(cells.iter().map(String::as_str).chain(std::iter::repeat("")))
                .collect();
            match kind {
                TableKind::Units => unit_rows.push((table, *row, record)),
                TableKind::Desks => desk_rows.push((table, *row, record)),
                TableKind::Officers => officer_rows.push((table, *row, record)),
                TableKind::Fields => field_rows.push((table, *row, record)),
                TableKind::Served => served_rows.push((table, *row, record)),
            }
        }
    }

    // Units first: the others refer to them.
    let mut unit_codes: HashSet<String> = known.units.clone();
    let mut seen_units = HashSet::new();
    for (table, row, r) in &unit_rows {
        // Only collect the codes here; the second pass reports what is wrong with them.
        if let Some(Ok(code)) = r.get("code").map(|c| Code::parse(c)) {
            if !seen_units.insert(code.as_str().to_owned()) {
                let mut cx = RowCx { errors: &mut errors, place: &table.place, row: *row };
                cx.fail(Some("code"), format!("unit {code} appears twice in this import"));
            }
            unit_codes.insert(code.as_str().to_owned());
        }
    }
    for (table, row, r) in &unit_rows {
        let mut cx = RowCx { errors: &mut errors, place: &table.place, row: *row };
        let code = cx.code(r, "code");
        let name = cx.name(r, "name");
        let kind = cx.parse(r, "kind", UnitKind::parse);
        let validity = cx.validity(r);
        let parent = cx.reference(r, "parent_code", &unit_codes, "unit");
        let successor = cx.reference(r, "successor_code", &unit_codes, "unit");
        if let (Some(code), Some(Some(parent))) = (&code, &parent)
            && code == parent
        {
            cx.fail(Some("parent_code"), "a unit cannot be its own parent".into());
        }
        if let (Some(code), Some(name), Some(kind), Some(validity), Some(parent), Some(successor)) =
            (code, name, kind, validity, parent, successor)
        {
            batch.units.push(NewUnit { code, name, kind, parent, validity, successor });
        }
    }
    // A loop may run through units already stored: check the links as they will be.
    let mut parents: HashMap<&str, Option<&str>> =
        known.unit_parents.iter().map(|(code, parent)| (code.as_str(), parent.as_deref())).collect();
    for u in &batch.units {
        parents.insert(u.code.as_str(), u.parent.as_ref().map(Code::as_str));
    }
    if let Some(cycle) = find_parent_cycle(parents) {
        let (place, row) = unit_rows
            .iter()
            .find(|(_, _, r)| r.get("code").is_some_and(|c| cycle.iter().any(|x| x == c.trim())))
            .map_or(("units".to_owned(), 0), |(t, row, _)| (t.place.clone(), *row));
        errors.push(RowError {
            place,
            row,
            column: Some("parent_code".into()),
            reason: format!("the parent chain loops back on itself: {}", cycle.join(" → ")),
        });
    }

    let mut desk_units: HashMap<String, String> = known.desks.clone();
    let mut seen_desks = HashSet::new();
    for (table, row, r) in &desk_rows {
        let mut cx = RowCx { errors: &mut errors, place: &table.place, row: *row };
        let code = cx.code(r, "code");
        let name = cx.name(r, "name");
        let unit = cx.reference(r, "unit_code", &unit_codes, "unit").flatten();
        if unit.is_none() && r.get("unit_code").is_some_and(|c| c.is_empty()) {
            cx.fail(Some("unit_code"), "is empty; a desk belongs to a unit".into());
        }
        if let Some(code) = &code
            && !seen_desks.insert(code.as_str().to_owned())
        {
            cx.fail(Some("code"), format!("desk {code} appears twice in this import"));
        }
        if let (Some(code), Some(name), Some(unit)) = (code, name, unit) {
            desk_units.insert(code.as_str().to_owned(), unit.as_str().to_owned());
            batch.desks.push(NewDesk { code, name, unit });
        }
    }

    let desk_codes: HashSet<String> = desk_units.keys().cloned().collect();
    // A stored assignment that a row of this import rewrites (same officer, same valid_from)
    // is replaced, not overlapped.
    let rewritten: HashSet<(String, String)> = officer_rows
        .iter()
        .filter_map(|(_, _, r)| {
            let from = parse_date(r.get("valid_from")?).ok()?;
            Some((r.get("code")?.trim().to_owned(), clock::iso(from)))
        })
        .collect();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut periods: HashMap<String, Vec<(Date, Option<Date>, usize)>> = HashMap::new();
    for (table, row, r) in &officer_rows {
        let mut cx = RowCx { errors: &mut errors, place: &table.place, row: *row };
        let officer = cx.code(r, "code");
        let full_name = cx.name(r, "full_name");
        let unit = cx.reference(r, "unit_code", &unit_codes, "unit").flatten();
        if unit.is_none() && r.get("unit_code").is_some_and(|c| c.is_empty()) {
            cx.fail(Some("unit_code"), "is empty; an assignment is to a unit".into());
        }
        let desk = cx.reference(r, "desk_code", &desk_codes, "desk");
        if let (Some(unit), Some(Some(desk))) = (&unit, &desk)
            && desk_units.get(desk.as_str()).is_some_and(|u| u != unit.as_str())
        {
            cx.fail(Some("desk_code"), format!("desk {desk} belongs to another unit than {unit}"));
        }
        let validity = cx.validity(r);
        if let (Some(officer), Some(full_name)) = (&officer, &full_name) {
            let first = names.entry(officer.as_str().to_owned()).or_insert_with(|| full_name.as_str().to_owned());
            if first != full_name.as_str() {
                cx.fail(Some("full_name"), format!("officer {officer} has another name on an earlier row ({first})"));
            }
        }
        if let (Some(officer), Some(validity)) = (&officer, &validity) {
            let spans = periods.entry(officer.as_str().to_owned()).or_default();
            if let Some(&(from, to, other)) = spans.iter().find(|(f, t, _)| overlaps(*f, *t, validity)) {
                let to = to.map_or_else(|| "…".to_owned(), clock::iso);
                cx.fail(
                    Some("valid_from"),
                    format!(
                        "overlaps the assignment of row {other} ({} to {to}) of officer {officer}",
                        clock::iso(from)
                    ),
                );
            }
            spans.push((validity.from(), validity.to(), *row));
            let stored = known.assignments.get(officer.as_str()).into_iter().flatten();
            for (from_text, to, _) in stored {
                if rewritten.contains(&(officer.as_str().to_owned(), from_text.clone())) {
                    continue;
                }
                let (Ok(from), to) = (parse_date(from_text), to.as_deref().map(parse_date).transpose().ok().flatten())
                else {
                    continue;
                };
                if overlaps(from, to, validity) {
                    cx.fail(
                        Some("valid_from"),
                        format!("overlaps officer {officer}'s stored assignment from {}", clock::iso(from)),
                    );
                }
            }
        }
        if let (Some(officer), Some(full_name), Some(unit), Some(desk), Some(validity)) =
            (officer, full_name, unit, desk, validity)
        {
            batch.assignments.push(NewAssignment { officer, full_name, unit, desk, validity });
        }
    }

    let mut seen_fields = HashSet::new();
    for (table, row, r) in &field_rows {
        let mut cx = RowCx { errors: &mut errors, place: &table.place, row: *row };
        let code = cx.code(r, "code");
        let name = cx.name(r, "name");
        if let Some(code) = &code
            && !seen_fields.insert(code.as_str().to_owned())
        {
            cx.fail(Some("code"), format!("field {code} appears twice in this import"));
        }
        if let (Some(code), Some(name)) = (code, name) {
            batch.fields.push(NewField { code, name });
        }
    }

    let officer_codes: HashSet<String> = known.assignments.keys().chain(names.keys()).cloned().collect();
    let mut seen_days = HashSet::new();
    for (table, row, r) in &served_rows {
        let mut cx = RowCx { errors: &mut errors, place: &table.place, row: *row };
        let unit = cx.reference(r, "unit_code", &unit_codes, "unit").flatten();
        let officer = cx.reference(r, "officer_code", &officer_codes, "officer").flatten();
        let text = r.get("date").copied().unwrap_or_default();
        let day = match parse_date(text) {
            Ok(day) if day <= today => Some(day),
            Ok(_) => {
                cx.fail(Some("date"), format!("'{text}' has not come yet"));
                None
            }
            Err(reason) => {
                cx.fail(Some("date"), reason);
                None
            }
        };
        let count = r.get("dossiers").copied().unwrap_or_default();
        let dossiers = match count.trim().parse::<u64>() {
            Ok(n) if n <= crate::app::receipts::MAX_DOSSIERS_A_DAY => Some(n),
            _ => {
                cx.fail(
                    Some("dossiers"),
                    format!("'{count}' is not a count of dossiers (0 to {})", crate::app::receipts::MAX_DOSSIERS_A_DAY),
                );
                None
            }
        };
        if let (Some(unit), Some(officer), Some(day), Some(dossiers)) = (unit, officer, day, dossiers) {
            // The officer is judged by the assignment of the day reported (this import's, or a
            // stored one it does not rewrite), as the API judges it.
            let code = officer.as_str();
            let imported = batch
                .assignments
                .iter()
                .filter(|a| a.officer.as_str() == code)
                .map(|a| (a.validity.from(), a.validity.to(), a.unit.as_str().to_owned()));
            let stored = known.assignments.get(code).into_iter().flatten().filter_map(|(from, to, unit)| {
                if rewritten.contains(&(code.to_owned(), from.clone())) {
                    return None;
                }
                let to = match to.as_deref().map(parse_date) {
                    Some(Ok(to)) => Some(to),
                    Some(Err(_)) => return None,
                    None => None,
                };
                Some((parse_date(from).ok()?, to, unit.clone()))
            });
            let spans: Vec<(Date, Option<Date>, String)> = imported.chain(stored).collect();
            match spans.iter().find(|(from, to, _)| *from <= day && to.is_none_or(|to| day <= to)) {
                Some((_, _, at)) if at == unit.as_str() => {}
                Some((_, _, at)) => {
                    cx.fail(
                        Some("unit_code"),
                        format!("officer {officer} was at {at}, not {unit}, on {}", clock::iso(day)),
                    );
                    continue;
                }
                None => {
                    let first = spans.iter().map(|s| s.0).min().map_or_else(|| "none".to_owned(), clock::iso);
                    cx.fail(
                        Some("date"),
                        format!(
                            "officer {officer} had no assignment on {} (the first begins {first})",
                            clock::iso(day)
                        ),
                    );
                    continue;
                }
            }
            if !seen_days.insert((officer.as_str().to_owned(), day)) {
                cx.fail(Some("date"), format!("officer {officer} has another row for {}", clock::iso(day)));
                continue;
            }
            batch.served.push(crate::store::ServedEntry {
                day,
                unit: unit.as_str().to_owned(),
                officer: officer.as_str().to_owned(),
                dossiers,
            });
        }
    }

    if errors.is_empty() { Ok(batch) } else { Err(errors) }
}

fn overlaps(from: Date, to: Option<Date>, other: &Validity) -> bool {
    let ends_before = |end: Option<Date>, start: Date| end.is_some_and(|e| e < start);
    !(ends_before(to, other.from()) || ends_before(other.to(), from))
}

/// Checks the cells of one row, collecting problems with their place.
struct RowCx<'a> {
    errors: &'a mut Vec<RowError>,
    place: &'a str,
    row: usize,
}

impl RowCx<'_> {
    fn fail(&mut self, column: Option<&str>, reason: String) {
        self.errors.push(RowError {
            place: self.place.to_owned(),
            row: self.row,
            column: column.map(str::to_owned),
            reason,
        });
    }

    fn parse<T>(
        &mut self,
        r: &HashMap<&str, &str>,
        column: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = r.get(column).copied().unwrap_or("");
        match parse(text) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.fail(Some(column), reason);
                None
            }
        }
    }

    fn code(&mut self, r: &HashMap<&str, &str>, column: &str) -> Option<Code> {
        self.parse(r, column, Code::parse)
    }

    fn name(&mut self, r: &HashMap<&str, &str>, column: &str) -> Option<Name> {
        self.parse(r, column, Name::parse)
    }

    /// An optional reference: `Some(None)` when blank, `None` when wrong.
    fn reference(
        &mut self,
        r: &HashMap<&str, &str>,
        column: &str,
        existing: &HashSet<String>,
        what: &str,
    ) -> Option<Option<Code>> {
        let text = r.get(column).copied().unwrap_or("");
        if text.is_empty() {
            return Some(None);
        }
        let code = self.parse(r, column, Code::parse)?;
        if existing.contains(code.as_str()) {
            Some(Some(code))
        } else {
            self.fail(Some(column), format!("no {what} has the code {code} (neither in this import nor stored)"));
            None
        }
    }

    fn validity(&mut self, r: &HashMap<&str, &str>) -> Option<Validity> {
        let from = self.parse(r, "valid_from", parse_date)?;
        let to_text = r.get("valid_to").copied().unwrap_or("");
        let to = if to_text.is_empty() { None } else { Some(self.parse(r, "valid_to", parse_date)?) };
        match Validity::new(from, to) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.fail(Some("valid_to"), reason);
                None
            }
        }
    }
}

/// Reads all files; a file that cannot be read is an error for the whole import.
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<Table>, String> {
    let mut tables = Vec::new();
    for path in paths {
        tables.extend(read_file(path)?);
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(header: &str, rows: &[&str]) -> Table {
        Table {
            place: "t.csv".into(),
            header: header.split(',').map(str::to_owned).collect(),
            rows: rows.iter().enumerate().map(|(i, r)| (i + 2, r.split(',').map(str::to_owned).collect())).collect(),
        }
    }

    #[test]
    fn classifies_tables_by_header() {
        let h = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(TableKind::classify(&h("code,name,kind,valid_from")), Ok(TableKind::Units));
        assert_eq!(TableKind::classify(&h("code,name,unit_code")), Ok(TableKind::Desks));
        assert_eq!(TableKind::classify(&h("code,full_name,unit_code,valid_from,desk_code")), Ok(TableKind::Officers));
        assert_eq!(TableKind::classify(&h("code,name")), Ok(TableKind::Fields));
        assert!(TableKind::classify(&h("code,name,unit_code,colour")).is_err());
        assert!(TableKind::classify(&h("ma,ten")).is_err());
    }

    #[test]
    fn a_header_short_of_a_column_is_named_by_its_best_match() {
        let h = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        let desks = TableKind::classify(&h("code,name,unit")).unwrap_err();
        assert!(desks.contains("read as a desks table") && desks.contains("lacks the column(s) unit_code"), "{desks}");
        assert!(desks.contains("'unit' should be 'unit_code'"), "{desks}");
        let officers = TableKind::classify(&h("code,full_name,unit_code")).unwrap_err();
        assert!(officers.contains("officers table") && officers.contains("valid_from"), "{officers}");
        let units = TableKind::classify(&h("code,name,kind,parent")).unwrap_err();
        assert!(units.contains("read as a units table") && units.contains("valid_from"), "{units}");
        let extra = TableKind::classify(&h("code,name,unit_code,colour")).unwrap_err();
        assert!(extra.contains("'colour' is not a column of a desks table"), "{extra}");
    }

    #[test]
    fn reads_csv_saved_with_semicolons() {
        let text = "code;name;unit_code\r\nQ1;\"Quầy 1; tầng trệt\";T\r\n";
        let table = read_csv("desks.csv", text.as_bytes()).unwrap();
        assert_eq!(table.header, ["code", "name", "unit_code"]);
        assert_eq!(table.rows[0].1, ["Q1", "Quầy 1; tầng trệt", "T"]);
        let commas = read_csv("desks.csv", "code,name,unit_code\nQ1,\"Quầy 1; tầng trệt\",T\n".as_bytes()).unwrap();
        assert_eq!(commas.rows[0].1, ["Q1", "Quầy 1; tầng trệt", "T"]);
    }

    #[test]
    fn reports_each_bad_row_with_its_place() {
        let units = table(
            "code,name,kind,parent_code,valid_from,valid_to",
            &[
                "T,Tỉnh X,tinh,,2025-07-01,",
                "A,Xã A,xa,KHONG,2025-07-01,",
                "B,,xa,T,2025-07-01,2025-01-01",
                "T,Lặp,tinh,,2025-07-01,",
            ],
        );
        let errors = validate(&[units], &KnownCodes::default(), time::macros::date!(2026 - 06 - 15)).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.contains("row 3, column parent_code") && e.contains("KHONG")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("row 4, column name: is empty")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("row 4, column valid_to")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("row 5, column code") && e.contains("twice")), "{text:?}");
    }

    #[test]
    fn checks_assignments() {
        let units = table("code,name,kind,valid_from", &["T,Tỉnh,tinh,2025-07-01", "U,Xã,xa,2025-07-01"]);
        let desks = table("code,name,unit_code", &["Q1,Quầy 1,T"]);
        let officers = table(
            "code,full_name,unit_code,desk_code,valid_from,valid_to",
            &[
                "CB1,Nguyễn Văn An,T,Q1,2025-07-01,2025-12-31",
                "CB1,Nguyễn Văn An,U,,2025-12-01,",
                "CB2,Lê Thị Hoa,U,Q1,2025-07-01,",
            ],
        );
        let errors = validate(&[units, desks, officers], &KnownCodes::default(), time::macros::date!(2026 - 06 - 15))
            .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.contains("row 3") && e.contains("overlaps")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("row 4, column desk_code") && e.contains("another unit")), "{text:?}");
        assert_eq!(errors.len(), 2, "{text:?}");
    }

    #[test]
    fn an_officer_can_move_in_one_import() {
        let mut known = KnownCodes::default();
        known.units.extend(["T".to_owned(), "U".to_owned()]);
        known.assignments.insert("CB1".into(), vec![("2025-07-01".into(), None, "U1".into())]);
        let officers = table(
            "code,full_name,unit_code,valid_from,valid_to",
            &["CB1,Nguyễn Văn An,T,2025-07-01,2026-05-31", "CB1,Nguyễn Văn An,U,2026-06-01,"],
        );
        let batch = validate(&[officers], &known, time::macros::date!(2026 - 06 - 15)).unwrap();
        assert_eq!(batch.assignments.len(), 2);
        // Without closing the first assignment, the new one overlaps it.
        let officers = table("code,full_name,unit_code,valid_from", &["CB1,Nguyễn Văn An,U,2026-06-01"]);
        assert!(validate(&[officers], &known, time::macros::date!(2026 - 06 - 15)).is_err());
    }

    #[test]
    fn a_loop_through_stored_units_is_refused_at_its_row() {
        let mut known = KnownCodes::default();
        known.units.extend(["A".to_owned(), "B".to_owned()]);
        known.unit_parents.insert("A".into(), None);
        known.unit_parents.insert("B".into(), Some("A".into()));
        let units = table("code,name,kind,parent_code,valid_from", &["A,Tỉnh A,tinh,B,2025-07-01"]);
        let errors = validate(&[units], &known, time::macros::date!(2026 - 06 - 15)).unwrap_err();
        assert_eq!(errors.len(), 1);
        let text = errors[0].to_string();
        assert!(text.starts_with("t.csv: row 2, column parent_code: the parent chain loops"), "{text}");
    }

    #[test]
    fn a_clean_import_builds_a_batch() {
        let units = table("code,name,kind,parent_code,valid_from", &["U,Xã,xa,T,2025-07-01", "T,Tỉnh,tinh,,1/7/2025"]);
        let desks = table("code,name,unit_code", &["Q1,Quầy 1,U"]);
        let officers = table("code,full_name,unit_code,desk_code,valid_from", &["CB1,Trần Văn Bình,U,Q1,2025-07-01"]);
        let fields = table("code,name", &["HT,Hộ tịch"]);
        let batch =
            validate(&[units, desks, officers, fields], &KnownCodes::default(), time::macros::date!(2026 - 06 - 15))
                .unwrap();
        assert_eq!((batch.units.len(), batch.desks.len(), batch.assignments.len(), batch.fields.len()), (2, 1, 1, 1));
    }

    #[test]
    fn a_served_count_is_judged_by_the_assignment_of_its_day() {
        let mut known = KnownCodes::default();
        known.units.extend(["T".to_owned(), "U".to_owned()]);
        // CB1 was at T until 30 November 2026 (stored), and is at U from 1 December (this import).
        known.assignments.insert("CB1".into(), vec![("2025-07-01".into(), Some("2026-11-30".into()), "T".into())]);
        let officers = table("code,full_name,unit_code,valid_from", &["CB1,Nguyễn Văn An,U,2026-12-01"]);
        let served = table(
            "date,unit_code,officer_code,dossiers",
            &["2026-11-30,T,CB1,40", "2026-12-02,U,CB1,7", "2026-12-02,T,CB1,1", "2025-06-30,T,CB1,3"],
        );
        let today = time::macros::date!(2026 - 12 - 07);
        let errors = validate(&[officers.clone(), served], &known, today).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{text:?}");
        assert!(
            text.iter().any(|e| e.contains("row 4, column unit_code") && e.contains("was at U, not T")),
            "{text:?}"
        );
        assert!(text.iter().any(|e| e.contains("row 5, column date") && e.contains("no assignment")), "{text:?}");
        let served = table("date,unit_code,officer_code,dossiers", &["2026-11-30,T,CB1,40", "2026-12-02,U,CB1,7"]);
        assert_eq!(validate(&[officers, served], &known, today).unwrap().served.len(), 2);
    }
}
