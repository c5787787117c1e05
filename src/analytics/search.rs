//! Search of saved queries and dashboards for applications (version 0.9.0):
//! by name and description, in the tenant's language, through the GIN index
//! on `search_vector` (see `tenancy::search` for why it reads as the owner).

use pgrx::prelude::*;
use pgrx::Uuid;

use crate::infra::guard::PinnedSearchPath;
use crate::tenancy::search::{max_rows_argument, scope, text_argument};

/// The longest query text a search takes.
const MOST_QUERY_CHARACTERS: usize = 1000;

/// The rows of `$1`'s table matching the web search `$2` in configuration `$3`,
/// best first, at most `$4`. `{table}` is a fixed name of this module.
macro_rules! matching {
    ($table:literal) => {
        concat!(
            "SELECT d.id, d.name, d.description, pg_catalog.ts_rank(d.search_vector, q.query)
               FROM @extschema@.",
            $table,
            " d, pg_catalog.websearch_to_tsquery($3::pg_catalog.regconfig, $2) AS q(query)
              WHERE d.tenant_id = $1 AND d.search_vector @@ q.query
              ORDER BY 4 DESC, d.name, d.id
              LIMIT $4"
        )
    };
}

type Found = (Uuid, String, Option<String>, f32);

fn search(
    statement: &str,
    query: Option<&str>,
    max_rows: Option<i32>,
    tenant: Option<Uuid>,
) -> Vec<Found> {
    let _search_path = PinnedSearchPath::new();
    let query = text_argument(query, "query", MOST_QUERY_CHARACTERS);
    let max_rows = max_rows_argument(max_rows);
    let scope = scope(tenant);
    let language = scope.language();
    // id is NOT NULL: the fallback is never used.
    let tenant_fallback = scope.tenant;
    scope.rows(
        statement,
        &[
            scope.tenant.into(),
            query.into(),
            language.into(),
            max_rows.into(),
        ],
        |row| {
            Ok((
                row.get::<Uuid>(1)?.unwrap_or(tenant_fallback),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?,
                row.get::<f32>(4)?.unwrap_or_default(),
            ))
        },
    )
}

/// The tenant's saved queries whose name or description match `query` (web
/// search syntax), best match first, at most `max_rows`. `tenant` defaults to
/// the current tenant; an application may search only that one.
#[allow(clippy::type_complexity)]
// parallel_restricted: a parallel worker would not see the transaction's tenant.
#[pg_extern(stable, parallel_restricted)]
fn search_analytics_queries(
    query: Option<&str>,
    max_rows: default!(Option<i32>, "50"),
    tenant: default!(Option<Uuid>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(id, Uuid),
        name!(name, String),
        name!(description, Option<String>),
        name!(rank, f32),
    ),
> {
    TableIterator::new(search(
        matching!("analytics_queries"),
        query,
        max_rows,
        tenant,
    ))
}

/// The tenant's dashboards whose name or description match `query` (web search
/// syntax), best match first, at most `max_rows`. `tenant` defaults to the
/// current tenant; an application may search only that one.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_restricted)]
fn search_dashboards(
    query: Option<&str>,
    max_rows: default!(Option<i32>, "50"),
    tenant: default!(Option<Uuid>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(id, Uuid),
        name!(name, String),
        name!(description, Option<String>),
        name!(rank, f32),
    ),
> {
    TableIterator::new(search(matching!("dashboards"), query, max_rows, tenant))
}
