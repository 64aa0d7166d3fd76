//! Citizens as staff see them: masked by default; the clear values only for the roles that
//! contact petitioners (registrars and handlers), and every such read is audited first.

use actix_web::{get, web};
use fengqiao_domain::identity::Role;
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::citizens;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::citizen::profile::{CitizenProfile, citizen_not_found, profile_of};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, RequestOrigin, StaffUser};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CitizenQuery {
    /// Show name, ID and phone in clear (registrars and handlers; audited).
    #[serde(default)]
    pub reveal: bool,
}

/// A citizen's profile, masked unless `reveal=true`.
#[utoipa::path(
    tag = "admin-citizens",
    operation_id = "getCitizen",
    params(("id" = Uuid, Path, description = "Citizen id"), CitizenQuery),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = CitizenProfile),
        (status = 404, description = "No such citizen (`citizen_not_found`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/citizens/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    staff: StaffUser,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    query: ApiQuery<CitizenQuery>,
) -> Result<web::Json<CitizenProfile>, ApiError> {
    staff.require_any(&[
        Role::Registrar,
        Role::Handler,
        Role::Supervisor,
        Role::Administrator,
    ])?;
    let reveal = query.0.reveal;
    if reveal {
        staff.require_any(&[Role::Registrar, Role::Handler])?;
    }
    let row = citizens::get(&state.db, id.into_inner())
        .await?
        .ok_or_else(citizen_not_found)?;
    // Staff see a citizen only through a petition of theirs that the staff member may see;
    // county-wide roles see every citizen.
    let scope = staff.scope();
    if !matches!(scope, fengqiao_domain::identity::OrgScope::All) {
        let mut reachable = false;
        for petition in
            fengqiao_infra::db::petitions::list_for_citizen(&state.db, row.id, 100, None).await?
        {
            if fengqiao_infra::db::petitions::visible_to(&state.db, &scope, &petition).await? {
                reachable = true;
                break;
            }
        }
        if !reachable {
            return Err(citizen_not_found());
        }
    }
    if reveal {
        // Recorded before the data leaves: no record, no reveal.
        state
            .audit(
                &staff.actor(),
                &origin.0,
                Event::new("citizen.personal_data.read").on("citizen", row.id),
            )
            .await?;
    }
    Ok(web::Json(profile_of(&state, &row, reveal)?))
}
