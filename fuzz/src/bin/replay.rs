//! Replays one input through a target without AFL: `target/release/replay TARGET FILE`.
fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(target), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: replay form|period|import_csv|import_xlsx|receipt|form_key FILE");
        std::process::exit(2);
    };
    let data = match std::fs::read(&file) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(2);
        }
    };
    match target.as_str() {
        "form" => hailong_fuzz::form(&data),
        "period" => hailong_fuzz::period(&data),
        "receipt" => hailong_fuzz::receipt(&data),
        "form_key" => hailong_fuzz::form_key(&data),
        "import_csv" => hailong_fuzz::import(hailong::import::Format::Csv, &data),
        "import_xlsx" => hailong_fuzz::import(hailong::import::Format::Workbook, &data),
        other => {
            eprintln!("no target {other}");
            std::process::exit(2);
        }
    }
    println!("{target}: {file} passes");
}
