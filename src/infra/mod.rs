//! The bottom layer: what every room needs and no room owns. Nothing here knows
//! a table of the extension; everything above may import from here.
//!
//! - `errors`: one way to raise an ERROR with a SQLSTATE that names the argument;
//! - `installation`: where the extension lives (schema, owner, installed version);
//! - `guard`: execution guards (a pinned `search_path`, the owner's privileges);
//! - `clock`: PostgreSQL's times as chrono's;
//! - `spi`: running statements, and the SQL files Rust runs;
//! - `http`: outbound HTTP (transport, backoff, private addresses) and the
//!   queues the background worker serves (webhook deliveries, provider requests);
//! - `secrets`: secrets at rest, revealed in memory for the functions that need them;
//! - `gucs`: every setting of the extension, registered in one place;
//! - `wake`: waking the background worker at commit;
//! - `worker`: what every background worker shares (connecting to its database, backoff, guarded transactions);
//! - `versioning`: what rollback scripts call before dropping a table;
//! - `member_ddl`: the event trigger that keeps the extension's tables as pg_dump restores them.

pub mod clock;
pub mod errors;
pub mod guard;
pub mod gucs;
pub mod http;
pub mod installation;
pub mod member_ddl;
pub mod secrets;
pub mod spi;
pub mod versioning;
pub mod wake;
pub mod worker;
