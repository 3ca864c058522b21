use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = hailong::cli::Cli::parse();
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", hailong::cli::said_once(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
