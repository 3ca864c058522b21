//! `hailong receipts`: the keys the one-stop software signs receipt tokens with, and the
//! reference signer its vendors can check their own against.

use clap::Subcommand;
use time::Date;

use super::{IfMissing, command_line, open_app, said};
use crate::app::Caller;
use crate::config::Settings;
use crate::domain::clock;
use crate::domain::receipt::{self, Claims, Key};

#[derive(Debug, Subcommand)]
pub(super) enum ReceiptsCommand {
    /// Keys shared with the one-stop software.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign a receipt token as the one-stop software does offline (the reference signer) and
    /// print its address on the last line.
    Sign {
        #[arg(long)]
        key_id: u32,
        /// The key's secret, as `receipts key create` printed it (URL-safe base64: it may begin
        /// with '-').
        #[arg(long, allow_hyphen_values = true)]
        secret: String,
        #[arg(long)]
        unit: String,
        #[arg(long)]
        officer: String,
        #[arg(long)]
        desk: Option<String>,
        /// The dossier code (only its keyed hash goes into the token).
        #[arg(long)]
        dossier: String,
        /// The issue date, YYYY-MM-DD (Vietnam); default today.
        #[arg(long)]
        date: Option<String>,
        /// The address citizens reach the service at.
        #[arg(long)]
        base_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum KeyCommand {
    /// Make a key: prints one line `KEY_ID SECRET` (the secret is shown once).
    Create,
    /// End a key: tokens it signed rate no more.
    Revoke {
        key_id: u32,
        /// Revoke the service's own online key too (every token it made online stops rating).
        #[arg(long)]
        force: bool,
    },
    /// List the keys (ids, purpose, made, revoked; never the secrets) as CSV.
    List,
}

pub(super) async fn run(settings: &Settings, cmd: ReceiptsCommand) -> anyhow::Result<()> {
    match cmd {
        ReceiptsCommand::Key(KeyCommand::Create) => {
            let app = open_app(settings, IfMissing::Refuse).await?;
            let key = app.create_receipt_key(&Caller::console()).await?;
            println!("{} {}", key.id, key.secret_text());
            eprintln!(
                "receipt key {} made; give the line above to the one-stop software (the secret is shown once); \
                 end it with `{}`",
                key.id,
                command_line(settings, &format!("receipts key revoke {}", key.id))
            );
        }
        ReceiptsCommand::Key(KeyCommand::Revoke { key_id, force }) => {
            let app = open_app(settings, IfMissing::Refuse).await?;
            let stored = app.store.receipt_key(key_id).await?;
            if let Some(stored) = stored.filter(|k| k.online && !k.revoked && !force) {
                anyhow::bail!(
                    "receipt key {} is the service's own online key: it signed every token made through POST \
                     /api/v1/receipts that still rates, and revoking it ends them all (the service then makes a new \
                     key for new tokens). To revoke it all the same: `{}`",
                    stored.key.id,
                    command_line(settings, &format!("receipts key revoke {key_id} --force"))
                );
            }
            app.revoke_receipt_key(&Caller::console(), key_id)
                .await
                .map_err(|e| said(e, || format!("no active receipt key has the id {key_id}")))?;
            println!("receipt key {key_id} revoked");
        }
        ReceiptsCommand::Key(KeyCommand::List) => {
            let app = open_app(settings, IfMissing::Refuse).await?;
            let mut out = crate::export::CsvOut::new(std::io::stdout());
            out.text_row(["key_id", "purpose", "created", "revoked", "signs"])?;
            for (id, purpose, created, revoked) in app.store.receipt_keys().await? {
                let created = clock::format_vietnam(created);
                let signs = if purpose == "online" {
                    "this service's own key: the tokens it makes (POST /api/v1/receipts)"
                } else {
                    "tokens the one-stop software signs itself"
                };
                let revoked = revoked.map(clock::format_vietnam).unwrap_or_default();
                out.text_row([id.to_string().as_str(), purpose.as_str(), created.as_str(), revoked.as_str(), signs])?;
            }
            out.flush()?;
        }
        ReceiptsCommand::Sign { key_id, secret, unit, officer, desk, dossier, date, base_url } => {
            receipt::check_dossier_code(&dossier).map_err(|e| anyhow::anyhow!("--dossier: {e}"))?;
            let key = Key::from_text(key_id, &secret).map_err(|e| anyhow::anyhow!("--secret: {e}"))?;
            let issued: Date = match date {
                Some(text) => clock::parse_date(&text).map_err(|e| anyhow::anyhow!("--date: {e}"))?,
                None => settings.clock.today(),
            };
            let mut nonce = [0u8; 4];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
            let claims = Claims {
                key_id,
                issued,
                nonce,
                dossier: key.dossier_hash(&dossier),
                unit,
                officer,
                desk: desk.filter(|d| !d.is_empty()),
            };
            let token = key.sign(&claims).map_err(anyhow::Error::msg)?;
            let base = base_url.trim_end_matches('/');
            println!("{token}");
            println!("{base}/r/{token}");
        }
    }
    Ok(())
}
