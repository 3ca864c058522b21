//! The integration suite: one binary, real servers on port 0, a fresh database per test.
//! SQLite always; PostgreSQL when HAILONG_TEST_POSTGRES_URL is set (`.ci/run` sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod chain;
mod cli;
mod contracts;
mod faults;
mod flags;
mod helpers;
mod import;
mod indices;
mod moments;
mod operate;
mod receipts;
mod store;
mod survey;
mod tenancy;
