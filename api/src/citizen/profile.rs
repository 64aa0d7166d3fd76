//! A citizen's own profile: real-name registration and phone binding. Personal data is sealed
//! before it is stored and masked in every response; the lookup hashes allow exact matching.

use actix_web::{get, post, put, web};
use chrono::{DateTime, FixedOffset, Utc};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::{
    CitizenStanding, IdCardNumber, PersonName, PhoneNumber, mask_address, mask_id_number,
    mask_name, mask_phone,
};
use fengqiao_domain::{DomainError, Text};
use fengqiao_infra::db::audit::Event;
use fengqiao_infra::db::citizens::{self, CitizenRow, SealedRealName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, CitizenUser, RequestOrigin};
use crate::state::AppState;

/// Columns of personal data, also the associated data their values are sealed with.
pub const NAME: &str = "citizens.name";
pub const ID_NUMBER: &str = "citizens.id_number";
pub const PHONE: &str = "citizens.phone";
pub const ADDRESS: &str = "citizens.address";
pub const SESSION_KEY: &str = "citizens.session_key";

/// A citizen as responses show them: personal data masked unless the caller may see it clear.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a6f2-7c1e-7d3a-9f1e-2b6c8d4e5f60", "real_name": true, "name": "张*三",
    "id_number": "410122********1234", "phone": "138****5678", "address": "河南省郑州市****", "masked": true,
    "created_at": "2026-11-25T10:30:00+08:00"}))]
pub struct CitizenProfile {
    pub id: Uuid,
    /// Name, ID number and phone are on record (实名).
    pub real_name: bool,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Whether the values above are masked.
    pub masked: bool,
    pub created_at: DateTime<FixedOffset>,
}

/// Opens a row's sealed values and shows them masked, or clear when `reveal` is set.
pub fn profile_of(
    state: &AppState,
    row: &CitizenRow,
    reveal: bool,
) -> Result<CitizenProfile, ApiError> {
    let open = |context: &str,
                sealed: &Option<String>,
                mask: fn(&str) -> String|
     -> Result<Option<String>, ApiError> {
        sealed
            .as_deref()
            .map(|s| {
                state
                    .crypto
                    .open(context, s)
                    .map(|clear| if reveal { clear } else { mask(&clear) })
                    .map_err(ApiError::internal)
            })
            .transpose()
    };
    Ok(CitizenProfile {
        id: row.id,
        real_name: row.real_name_at.is_some(),
        name: open(NAME, &row.name, mask_name)?,
        id_number: open(ID_NUMBER, &row.id_number, mask_id_number)?,
        phone: open(PHONE, &row.phone, mask_phone)?,
        address: open(ADDRESS, &row.address, mask_address)?,
        masked: !reveal,
        created_at: fengqiao_domain::calendar::to_local(row.created_at),
    })
}

/// What the citizen has proven, for rules such as "accusations need a real name".
pub fn standing_of(row: &CitizenRow) -> CitizenStanding {
    CitizenStanding {
        real_name: row.real_name_at.is_some(),
        phone_bound: row.phone.is_some(),
    }
}

/// The signed-in citizen's profile (masked).
#[utoipa::path(
    tag = "citizen-profile",
    operation_id = "getMyProfile",
    security(("citizen_bearer" = [])),
    responses((status = 200, description = "The caller's profile, personal data masked", body = CitizenProfile))
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    citizen: CitizenUser,
) -> Result<web::Json<CitizenProfile>, ApiError> {
    Ok(web::Json(profile_of(&state, &citizen.row, false)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "张小三", "id_number": "11010519491231002X", "phone": "13800138000",
                          "address": "河南省郑州市中牟县青年路 1 号"}))]
pub struct RealNameRequest {
    pub name: String,
    /// 18-character resident ID number; the check character and birth date are verified.
    pub id_number: String,
    /// Mainland mobile number.
    pub phone: String,
    /// Home address, for written answers (optional; 4 to 128 characters).
    pub address: Option<String>,
}

/// Register or correct the caller's real name (实名登记).
#[utoipa::path(
    tag = "citizen-profile",
    operation_id = "registerRealName",
    request_body = RealNameRequest,
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "Registered; the profile, masked", body = CitizenProfile),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name, ID number (format, birth date, check character) or phone; every \
failing field is listed", body = Problem, content_type = "application/problem+json")
    )
)]
#[put("/me/real-name")]
pub async fn register_real_name(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    body: ApiJson<RealNameRequest>,
) -> Result<web::Json<CitizenProfile>, ApiError> {
    let body = body.0;
    let now = Utc::now();
    let mut v = Validator::new();
    let name = v.check("name", PersonName::parse(&body.name));
    let id_number = v.check(
        "id_number",
        IdCardNumber::parse(&body.id_number, fengqiao_domain::calendar::local_date(now)),
    );
    let phone = v.check("phone", PhoneNumber::parse(&body.phone));
    let address = body
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if address.is_some_and(|a| !(4..=128).contains(&a.chars().count())) {
        v.push(fengqiao_domain::FieldError::new(
            "address",
            "invalid_address",
            Text::new(
                "地址须为 4 至 128 个字",
                "the address must be 4 to 128 characters",
            ),
        ));
    }
    let (name, id_number, phone) = v.finish(|| Some((name?, id_number?, phone?)))?;
    let seal = |context: &str, clear: &str| {
        state
            .crypto
            .seal(context, clear)
            .map_err(ApiError::internal)
    };
    let sealed = SealedRealName {
        name: seal(NAME, name.expose())?,
        id_number: seal(ID_NUMBER, id_number.expose())?,
        id_number_hash: state.crypto.lookup_hash(ID_NUMBER, id_number.expose()),
        phone: seal(PHONE, phone.expose())?,
        phone_hash: state.crypto.lookup_hash(PHONE, phone.expose()),
        address: address.map(|a| seal(ADDRESS, a)).transpose()?,
    };
    let txn = state.begin_change().await?;
    let row = citizens::set_real_name(&txn, citizen.id, sealed, now).await?;
    state
        .audit_in(
            &txn,
            &citizen.actor(),
            &origin.0,
            Event::new("citizen.real_name.registered").on("citizen", citizen.id),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(profile_of(&state, &row, false)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144"}))]
pub struct PhoneCodeRequest {
    /// The code from the mini-program's `getPhoneNumber` button (single use, 5 minutes).
    pub code: String,
}

/// Bind the phone number WeChat vouches for (`getPhoneNumber`).
#[utoipa::path(
    tag = "citizen-profile",
    operation_id = "bindPhoneFromWeChat",
    request_body = PhoneCodeRequest,
    security(("citizen_bearer" = [])),
    responses(
        (status = 200, description = "Bound; the profile, masked", body = CitizenProfile),
        (status = 401, description = "The code is invalid or used (`invalid_wechat_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "WeChat gave a number that is not a mainland mobile (`invalid_phone`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/me/phone")]
pub async fn bind_phone(
    state: web::Data<AppState>,
    citizen: CitizenUser,
    origin: RequestOrigin,
    body: ApiJson<PhoneCodeRequest>,
) -> Result<web::Json<CitizenProfile>, ApiError> {
    let info = state
        .wechat
        .phone_number(&body.0.code)
        .await
        .map_err(super::auth::wechat_error)?;
    let phone = PhoneNumber::parse(&info.pure_phone_number).map_err(DomainError::from)?;
    let sealed = state
        .crypto
        .seal(PHONE, phone.expose())
        .map_err(ApiError::internal)?;
    let hash = state.crypto.lookup_hash(PHONE, phone.expose());
    let txn = state.begin_change().await?;
    let row = citizens::set_phone(&txn, citizen.id, sealed, hash, Utc::now()).await?;
    state
        .audit_in(
            &txn,
            &citizen.actor(),
            &origin.0,
            Event::new("citizen.phone.bound").on("citizen", citizen.id),
        )
        .await?;
    txn.commit().await?;
    Ok(web::Json(profile_of(&state, &row, false)?))
}

/// 404 for a citizen the caller may not know about.
pub fn citizen_not_found() -> ApiError {
    DomainError::NotFound {
        code: "citizen_not_found",
        message: Text::new("信访人不存在", "no such citizen"),
    }
    .into()
}
