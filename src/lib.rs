//! hailong ("hài lòng", satisfied): citizens rate the service at Vietnam's one-stop desks by
//! scanning a QR code, and the ratings become satisfaction indices per unit and officer.
//!
//! A tour, from the edge inwards:
//! - [`cli`] parses the command line; [`config`] reads the settings once.
//! - [`startup`] builds the server from the settings; [`web`] holds the routers and handlers,
//!   [`views`] the HTML they render.
//! - [`app`] holds the use cases both doors call (scope, audit, caches, exports, reports);
//!   [`error`] is the one error type they return, by meaning.
//! - [`domain`] is the pure core: units and officers, questionnaires, responses, Vietnam time.
//! - [`store`] is the only place that speaks SQL, to SQLite or PostgreSQL; its writer commits
//!   citizens' responses in groups.
//! - [`import`] reads organisation lists, [`demo`] seeds a demo province, [`qr`] draws QR codes.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod flagsim;
pub mod import;
pub mod qr;

pub mod startup;
pub mod store;
pub mod telemetry;
pub mod views;
pub mod web;
