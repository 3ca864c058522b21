//! `hailong serve` and `hailong demo`: the service, and the demo province with the one block
//! that says where everything is.

use std::io::Write;

use super::{IfMissing, command_line, open, progress};
use crate::config::Settings;
use crate::demo;
use crate::domain::point::form_url;
use crate::startup::{Application, load_questionnaires, shutdown_signal};
use crate::store::Store;

pub(super) async fn run_demo(settings: &Settings, store: &Store, responses: u64, seed: u64) -> anyhow::Result<()> {
    let summary = seed_demo(store, responses, seed).await?;
    if let Some(password) = demo::ensure_admin(store).await? {
        println!("management pages: sign in at /admin/login as admin with the password {password}");
        println!("(shown once; change it with `{}`)", command_line(settings, "user password admin"));
    }
    eprintln!("{summary}");
    Ok(())
}

/// Seeds the demo (with a progress bar on a terminal) and says what it added.
async fn seed_demo(store: &Store, responses: u64, seed: u64) -> anyhow::Result<String> {
    let questionnaires = load_questionnaires(store).await?;
    let bar = progress(responses, "ratings");
    let summary = demo::seed(store, &questionnaires, responses, seed, |n| bar.inc(n)).await?;
    bar.finish_and_clear();
    Ok(format!(
        "demo: {} new unit(s), {} desk(s), {} officer(s), {} collection point(s); {} synthetic rating(s) added",
        summary.organisation.units.0,
        summary.organisation.desks.0,
        summary.organisation.officers.0,
        summary.organisation.points_created,
        summary.responses
    ))
}

/// Serves; with `demo`, seeds an empty database first and ends the start-up with one block
/// saying where everything is (after it, only request logs follow).
pub(super) async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let store = open(&settings, IfMissing::Create).await?;
    let mut seeded = None;
    let mut password = None;
    if demo {
        if store.is_empty().await? {
            seeded = Some(seed_demo(&store, 2000, 2026).await?);
        }
        password = demo::ensure_admin(&store).await?;
    }
    let base = settings.public_base_url();
    let sample = if demo { store.active_points().await? } else { Vec::new() };
    let points_command = command_line(&settings, "points list");
    let password_command = command_line(&settings, "user password admin");
    let app = Application::build_with_store(settings, store).await?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, database = app.store().backend_name(), "listening");
    if demo {
        let mut block = String::from("\n");
        block.push_str(&format!("hailong is listening on http://{addr}\n"));
        if let Some(seeded) = seeded {
            block.push_str(&format!("{seeded}\n"));
        }
        block.push_str(&format!("\n  start page        {base}/\n  management pages  {base}/admin/login\n"));
        match password {
            Some(password) => block.push_str(&format!(
                "    account         admin\n    password        {password}   (shown this once)\n    \
                 then            an authenticator app (TOTP) at the first sign-in\n"
            )),
            None => block.push_str(&format!(
                "    account         admin (its password was shown at the first start; set a new one with\n                    \
                 {password_command})\n"
            )),
        }
        block.push_str("  survey forms\n");
        for p in pick_samples(&sample) {
            block.push_str(&format!("    {}  ({})\n", form_url(&base, &p.slug), p.label));
        }
        block.push_str(&format!("  every point       {points_command}\n\nStop with Ctrl-C. Request logs follow.\n"));
        print!("{block}");
    } else {
        println!("hailong is listening on http://{addr} (start page {base}/)");
    }
    std::io::stdout().flush()?;
    app.run_until(shutdown_signal()).await
}

/// One point of each kind (unit with SIPAS, desk, officer), then a couple more officers.
fn pick_samples(points: &[crate::domain::point::Point]) -> Vec<&crate::domain::point::Point> {
    let unit = points.iter().find(|p| p.desk_code.is_none() && p.officer_code.is_none());
    let desk = points.iter().find(|p| p.desk_code.is_some() && p.officer_code.is_none());
    let officers = points.iter().filter(|p| p.officer_code.is_some()).take(3);
    unit.into_iter().chain(desk).chain(officers).collect()
}
