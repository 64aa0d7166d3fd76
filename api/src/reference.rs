//! Reference data every submission reads (the category taxonomy, the working calendar, the
//! routing rules and the places), kept in process for a few seconds. A submission then spends
//! its database round trips on writing, not on re-reading tables that change a few times a
//! year. A change made through this instance is seen at once (`forget`); one made through
//! another instance within `TTL`, which for holidays, categories and routing rules (edited days
//! or weeks ahead) is no loss.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fengqiao_domain::calendar::WorkCalendar;
use fengqiao_domain::org::OrgUnit;
use fengqiao_infra::db::{self, StoreError, petitions};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(10);

/// One snapshot of the small tables.
pub struct Snapshot {
    pub categories: HashMap<String, petitions::CategoryRow>,
    pub calendar: WorkCalendar,
    routes: Vec<petitions::RoutingRuleRow>,
}

impl Snapshot {
    /// The first handler the routing rules name for a category and township: a rule for both
    /// wins over a rule for the category alone.
    pub fn route(&self, category_code: &str, township_id: Uuid) -> Option<Uuid> {
        let rules: Vec<_> = self
            .routes
            .iter()
            .filter(|r| r.category_code == category_code)
            .collect();
        rules
            .iter()
            .find(|r| r.township_id == Some(township_id))
            .or_else(|| rules.iter().find(|r| r.township_id.is_none()))
            .map(|r| r.to_org_id)
    }
}

#[derive(Default)]
pub struct ReferenceCache {
    snapshot: Mutex<Option<(Instant, Arc<Snapshot>)>>,
    places: Mutex<HashMap<Uuid, (Instant, OrgUnit)>>,
}

impl ReferenceCache {
    /// The current snapshot, loaded when missing or older than `TTL`.
    pub async fn snapshot(&self, conn: &DatabaseConnection) -> Result<Arc<Snapshot>, StoreError> {
        if let Ok(guard) = self.snapshot.lock()
            && let Some((at, snap)) = guard.as_ref()
            && at.elapsed() < TTL
        {
            return Ok(snap.clone());
        }
        let categories = petitions::categories(conn)
            .await?
            .into_iter()
            .map(|c| (c.code.clone(), c))
            .collect();
        let snap = Arc::new(Snapshot {
            categories,
            calendar: petitions::calendar(conn).await?,
            routes: petitions::routing_rules(conn).await?,
        });
        if let Ok(mut guard) = self.snapshot.lock() {
            *guard = Some((Instant::now(), snap.clone()));
        }
        Ok(snap)
    }

    /// An organisation unit by id (townships and villages, as submissions name them).
    pub async fn place(&self, conn: &DatabaseConnection, id: Uuid) -> Result<OrgUnit, StoreError> {
        if let Ok(places) = self.places.lock()
            && let Some((at, unit)) = places.get(&id)
            && at.elapsed() < TTL
        {
            return Ok(unit.clone());
        }
        let unit = db::org::get(conn, id).await?;
        if let Ok(mut places) = self.places.lock() {
            // Bounded: the county has some hundreds of villages; a flood of made-up ids is
            // never stored (`get` fails for them first).
            if places.len() > 10_000 {
                places.clear();
            }
            places.insert(id, (Instant::now(), unit.clone()));
        }
        Ok(unit)
    }

    /// Drops everything: called after a change through this instance.
    pub fn forget(&self) {
        if let Ok(mut guard) = self.snapshot.lock() {
            *guard = None;
        }
        if let Ok(mut places) = self.places.lock() {
            places.clear();
        }
    }
}
