//! Search of SendGrid contacts for applications (version 0.9.0): by e-mail
//! address (whole, or by its parts) and names through the GIN index on
//! `search_vector`, and by list through the GIN index on `list_ids` (see
//! `tenancy::search` for why both read as the owner).

use pgrx::prelude::*;
use pgrx::Uuid;

use crate::infra::guard::PinnedSearchPath;
use crate::tenancy::search::{max_rows_argument, scope, text_argument};

/// The longest query text a search takes.
const MOST_QUERY_CHARACTERS: usize = 1000;
/// The longest list id (SendGrid's are UUIDs).
const MOST_LIST_ID_CHARACTERS: usize = 255;

const MATCHING: &str = "
    SELECT c.id, c.email, c.first_name, c.last_name, c.status, pg_catalog.ts_rank(c.search_vector, q.query)
      FROM @extschema@.sendgrid_contacts c,
           pg_catalog.websearch_to_tsquery($3::pg_catalog.regconfig, $2) AS q(query)
     WHERE c.tenant_id = $1 AND c.search_vector @@ q.query
     ORDER BY 6 DESC, c.email, c.id
     LIMIT $4";

const IN_LIST: &str = "
    SELECT c.id, c.email, c.first_name, c.last_name, c.status
      FROM @extschema@.sendgrid_contacts c
     WHERE c.tenant_id = $1 AND c.list_ids @> ARRAY[$2::pg_catalog.text]
     ORDER BY c.email, c.id
     LIMIT $3";

/// The tenant's SendGrid contacts matching `query` (web search syntax) by
/// e-mail address, its parts or names, best match first, at most `max_rows`.
/// `tenant` defaults to the current tenant; an application may search only that one.
#[allow(clippy::type_complexity)]
// parallel_restricted: a parallel worker would not see the transaction's tenant.
#[pg_extern(stable, parallel_restricted)]
fn search_sendgrid_contacts(
    query: Option<&str>,
    max_rows: default!(Option<i32>, "50"),
    tenant: default!(Option<Uuid>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(id, Uuid),
        name!(email, String),
        name!(first_name, Option<String>),
        name!(last_name, Option<String>),
        name!(status, String),
        name!(rank, f32),
    ),
> {
    let _search_path = PinnedSearchPath::new();
    let query = text_argument(query, "query", MOST_QUERY_CHARACTERS);
    let max_rows = max_rows_argument(max_rows);
    let scope = scope(tenant);
    let language = scope.language();
    TableIterator::new(scope.rows(
        MATCHING,
        &[
            scope.tenant.into(),
            query.into(),
            language.into(),
            max_rows.into(),
        ],
        |row| {
            Ok((
                row.get::<Uuid>(1)?.unwrap_or(scope.tenant),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?,
                row.get::<String>(4)?,
                row.get::<String>(5)?.unwrap_or_default(),
                row.get::<f32>(6)?.unwrap_or_default(),
            ))
        },
    ))
}

/// The tenant's SendGrid contacts on the list `list_id`, by e-mail address, at
/// most `max_rows`. `tenant` defaults to the current tenant; an application may
/// read only that one.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_restricted)]
fn sendgrid_contacts_in_list(
    list_id: Option<&str>,
    max_rows: default!(Option<i32>, "1000"),
    tenant: default!(Option<Uuid>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(id, Uuid),
        name!(email, String),
        name!(first_name, Option<String>),
        name!(last_name, Option<String>),
        name!(status, String),
    ),
> {
    let _search_path = PinnedSearchPath::new();
    let list_id = text_argument(list_id, "list_id", MOST_LIST_ID_CHARACTERS);
    let max_rows = max_rows_argument(max_rows);
    let scope = scope(tenant);
    TableIterator::new(scope.rows(
        IN_LIST,
        &[scope.tenant.into(), list_id.into(), max_rows.into()],
        |row| {
            Ok((
                row.get::<Uuid>(1)?.unwrap_or(scope.tenant),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?,
                row.get::<String>(4)?,
                row.get::<String>(5)?.unwrap_or_default(),
            ))
        },
    ))
}
