//! The append-only guards (triggers) as this build's migrations made them, and the check that
//! the database still has them: `hailong verify` fails when one is missing, disabled or
//! altered, since a guard dropped and put back leaves no other trace.

use std::collections::BTreeMap;

use super::{Backend, Store, StoreResult, postgres, sqlite};

/// A trigger as the migrations define it. On SQLite the whole statement, white space folded;
/// on PostgreSQL its table, timing and events as `pg_trigger.tgtype` bits, whether it is
/// narrowed (a `WHEN` condition or an `UPDATE OF` column list, either of which lets some
/// changes through), its function and that function's body.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Guard {
    Sqlite(String),
    Postgres { table: String, tgtype: i16, narrowed: bool, function: String, body: String },
}

/// White space folded to single spaces, a trailing semicolon dropped.
fn folded(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").trim_end_matches(';').trim_end().to_owned()
}

/// The statements of a migration, split at semicolons that end a line outside `$$` bodies.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_body = false;
    for line in sql.lines() {
        let code = line.split("--").next().unwrap_or_default();
        if code.matches("$$").count() % 2 == 1 {
            in_body = !in_body;
        }
        current.push_str(line);
        current.push('\n');
        if !in_body && code.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// The word after `keyword` (case-insensitive) in `text`.
fn word_after<'a>(words: &[&'a str], keyword: &str) -> Option<&'a str> {
    words.iter().position(|w| w.eq_ignore_ascii_case(keyword)).and_then(|i| words.get(i + 1)).copied()
}

/// The triggers the SQLite migrations leave, by name.
fn sqlite_guards(migrations: &[(i64, &str, &str)]) -> BTreeMap<String, Guard> {
    let mut guards = BTreeMap::new();
    for (_, _, sql) in migrations {
        for statement in statements(sql) {
            let text =
                folded(&statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n"));
            let words: Vec<&str> = text.split(' ').collect();
            if text.to_uppercase().starts_with("CREATE TRIGGER ") {
                if let Some(name) = words.get(2) {
                    guards.insert((*name).to_owned(), Guard::Sqlite(text.clone()));
                }
            } else if text.to_uppercase().starts_with("DROP TRIGGER ") {
                let name = words.last().copied().unwrap_or_default();
                guards.remove(name);
            }
        }
    }
    guards
}

/// `pg_trigger.tgtype` of a trigger's timing, events and level.
fn tgtype(words: &[&str]) -> i16 {
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    let mut bits = 0;
    if has("ROW") {
        bits |= 1;
    }
    if has("BEFORE") {
        bits |= 2;
    }
    for (event, bit) in [("INSERT", 4), ("DELETE", 8), ("UPDATE", 16), ("TRUNCATE", 32)] {
        if has(event) {
            bits |= bit;
        }
    }
    bits
}

/// The triggers the PostgreSQL migrations leave, by name.
fn postgres_guards(migrations: &[(i64, &str, &str)]) -> BTreeMap<String, Guard> {
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    let mut guards = BTreeMap::new();
    for (_, _, sql) in migrations {
        for statement in statements(sql) {
            let code: String =
                statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            let text = folded(&code);
            let words: Vec<&str> = text.split(' ').collect();
            let upper = text.to_uppercase();
            if upper.starts_with("CREATE FUNCTION ") || upper.starts_with("CREATE OR REPLACE FUNCTION ") {
                let name = word_after(&words, "FUNCTION").unwrap_or_default().split('(').next().unwrap_or_default();
                let body = code.split("$$").nth(1).unwrap_or_default();
                bodies.insert(name.to_owned(), body.to_owned());
            } else if upper.starts_with("CREATE TRIGGER ") {
                let name = words.get(2).copied().unwrap_or_default().to_owned();
                let table = word_after(&words, "ON").unwrap_or_default().to_owned();
                let function =
                    word_after(&words, "FUNCTION").unwrap_or_default().split('(').next().unwrap_or_default().to_owned();
                let body = bodies.get(&function).cloned().unwrap_or_default();
                // Only the words before the table say when it fires.
                let head = &words[..words.iter().position(|w| w.eq_ignore_ascii_case("ON")).unwrap_or(words.len())];
                let level: Vec<&str> =
                    words.iter().skip_while(|w| !w.eq_ignore_ascii_case("EACH")).take(2).copied().collect();
                let kinds: Vec<&str> = head.iter().chain(level.iter()).copied().collect();
                let narrowed = words.iter().any(|w| w.eq_ignore_ascii_case("WHEN"))
                    || words.windows(2).any(|w| w[0].eq_ignore_ascii_case("UPDATE") && w[1].eq_ignore_ascii_case("OF"));
                guards.insert(name, Guard::Postgres { table, tgtype: tgtype(&kinds), narrowed, function, body });
            } else if upper.starts_with("DROP TRIGGER ") {
                // `DROP TRIGGER [IF EXISTS] name ON table`: the name is the word before ON.
                let on = words.iter().position(|w| w.eq_ignore_ascii_case("ON")).unwrap_or(words.len());
                guards.remove(words[..on].last().copied().unwrap_or_default());
            }
        }
    }
    guards
}

impl Store {
    /// What is wrong with the database's append-only guards against those this build's
    /// migrations made: each one missing, disabled, altered, or not made by a migration.
    pub async fn check_guards(&self) -> StoreResult<Vec<String>> {
        let mut problems = Vec::new();
        match &self.backend {
            Backend::Sqlite { read, .. } => {
                let expected = sqlite_guards(sqlite::MIGRATIONS);
                let rows: Vec<(String, Option<String>)> =
                    sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
                        .fetch_all(read)
                        .await?;
                let found: BTreeMap<String, Guard> = rows
                    .into_iter()
                    .map(|(name, sql)| (name, Guard::Sqlite(folded(&sql.unwrap_or_default()))))
                    .collect();
                compare(&expected, &found, &mut problems);
            }
            Backend::Postgres { read: pool, .. } => {
                let expected = postgres_guards(postgres::MIGRATIONS);
                let rows: Vec<(String, String, String, i16, bool, String, String)> = sqlx::query_as(
                    "SELECT t.tgname::text, c.relname::text, t.tgenabled::text, t.tgtype, \
                        (t.tgqual IS NOT NULL OR t.tgattr::text <> ''), p.proname::text, p.prosrc \
                     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY t.tgname",
                )
                .fetch_all(pool)
                .await?;
                let mut found = BTreeMap::new();
                for (name, table, enabled, tgtype, narrowed, function, body) in rows {
                    // 'O' fires in ordinary sessions, 'A' in every session; 'D' never, 'R' only in
                    // sessions that say they replicate, which anyone with the table can say.
                    match enabled.as_str() {
                        "D" => problems
                            .push(format!("guard {name} on {table} is disabled: the table it guards can be changed")),
                        "R" => problems.push(format!(
                            "guard {name} on {table} fires only in replication sessions: the table it guards can be \
                             changed from any other"
                        )),
                        _ => {}
                    }
                    found.insert(name, Guard::Postgres { table, tgtype, narrowed, function, body });
                }
                compare(&expected, &found, &mut problems);
            }
        }
        Ok(problems)
    }
}

fn compare(expected: &BTreeMap<String, Guard>, found: &BTreeMap<String, Guard>, problems: &mut Vec<String>) {
    let body = |g: &Guard| match g {
        Guard::Postgres { body, .. } => folded(body),
        Guard::Sqlite(sql) => sql.clone(),
    };
    for (name, guard) in expected {
        match found.get(name) {
            None => problems.push(format!("guard {name} is missing: it was dropped")),
            Some(other) if other != guard && body(other) == body(guard) => {
                problems.push(format!("guard {name} was made anew on other terms (its table or when it fires)"))
            }
            Some(other) if body(other) != body(guard) => problems.push(format!("guard {name} was altered")),
            Some(_) => {}
        }
    }
    for name in found.keys().filter(|n| !expected.contains_key(*n)) {
        problems.push(format!("trigger {name} was not made by this version's migrations: it was added outside it"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_guards_are_read_on_both_backends() {
        let sqlite = sqlite_guards(sqlite::MIGRATIONS);
        let postgres = postgres_guards(postgres::MIGRATIONS);
        assert!(sqlite.len() >= 20, "{:?}", sqlite.keys());
        assert!(postgres.len() >= 15, "{:?}", postgres.keys());
        let Some(Guard::Postgres { table, tgtype, narrowed, function, body }) = postgres.get("answers_no_change")
        else {
            panic!("{postgres:?}")
        };
        assert_eq!((table.as_str(), *tgtype, function.as_str()), ("answers", 1 | 2 | 8 | 16, "answers_append_only"));
        assert!(!narrowed, "the migrations' guards hold for every row and column");
        assert!(body.contains("RAISE EXCEPTION"), "{body}");
        let Some(Guard::Postgres { tgtype, .. }) = postgres.get("answers_no_truncate") else { panic!() };
        assert_eq!(*tgtype, 2 | 32);
        let Some(Guard::Sqlite(sql)) = sqlite.get("chain_links_no_replace") else { panic!("{sqlite:?}") };
        assert!(sql.starts_with("CREATE TRIGGER chain_links_no_replace BEFORE INSERT ON chain_links WHEN"), "{sql}");
        assert!(sql.ends_with("END"), "{sql}");
    }
}
