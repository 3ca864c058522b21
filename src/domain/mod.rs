//! Pure types and rules of the domain: no I/O, no SQL, no HTTP.
//!
//! - [`account`]: roles, permissions, scopes and the secrets that prove a caller.
//! - [`audit`]: the audit log's actions, targets and actors.
//! - [`org`]: units (a dated tree with successors), desks, officers and their assignments.
//! - [`answer`]: what a citizen typed, checked: problems and comments.
//! - [`questionnaire`]: versioned questionnaires, their scales and questions, loaded from data.
//! - [`response`]: a citizen's validated answers, ready for the writer.
//! - [`point`]: collection points and their unguessable slugs.
//! - [`refusal`]: why a change was refused, typed; each door words it.
//! - [`period`]: reporting periods (year, half, quarter, month, range) in Vietnam time.
//! - [`indices`]: the figures of a target (shares, elements, overall, 766 rate, points) from counts.
//! - [`moderation`]: excluding a response from the indices and restoring it, with a reason.
//! - [`method`]: the province-chosen parameters: minimum sample, bands, the Decree 90 suggestion rule.
//! - [`report`]: rows of a report: figures, fair ranking, funnel flags, bands, change.
//! - [`stats`]: intervals, shrinkage, funnel limits and tests over counts.
//! - [`rounding`]: the one rounding rule of every figure shown or written.
//! - [`exact`]: exact shares and thresholds, for the comparisons that band and suggest.
//! - [`chain`]: the hash chain over what was collected, signed checkpoints and export manifests.
//! - [`flags`]: stuffing flags: the rules, their settings, and which responses they flag.
//! - [`clock`]: Vietnam time (UTC+07:00, no daylight saving) and day buckets.

pub mod account;
pub mod answer;
pub mod audit;
pub mod chain;
pub mod clock;
pub mod exact;
pub mod flags;
pub mod indices;
pub mod method;
pub mod moderation;
pub mod org;
pub mod period;
pub mod point;
pub mod questionnaire;
pub mod receipt;
pub mod refusal;
pub mod report;
pub mod response;
pub mod rounding;
pub mod stats;
pub mod text;
