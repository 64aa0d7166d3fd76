//! Demonstration data for a first look at the service (`fengqiao serve --demo`): the county's
//! 14 townships and streets, some villages and departments, guide and news articles, contacts,
//! leaders and their reception rules, and one administrator. Every row carries `is_demo = true`
//! and every visible text says 演示 (demo), so none of it can pass for real data.
//! It loads only into an empty database, in one transaction.

use chrono::Utc;
use fengqiao_domain::identity::{Role, Roles};
use fengqiao_domain::org::{NewOrgUnit, OrgCode, OrgKind, OrgName};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::json;
use uuid::Uuid;

use crate::db::entities::{article, channel, contact, leader, reception_rule};
use crate::db::{StoreError, org, staff};

/// What the loader made that the operator must see once: the administrator's credentials.
pub struct DemoLoaded {
    pub admin_username: String,
    pub admin_password: String,
}

const COUNTY: (&str, &str) = ("410122", "中牟县（演示）");

/// The 14 townships and streets: (code, name, kind).
const TOWNSHIPS: [(&str, &str, OrgKind); 14] = [
    ("410122-001", "青年路街道", OrgKind::Street),
    ("410122-002", "东风路街道", OrgKind::Street),
    ("410122-003", "广惠街街道", OrgKind::Street),
    ("410122-004", "城东路街道", OrgKind::Street),
    ("410122-101", "官渡镇", OrgKind::Township),
    ("410122-102", "狼城岗镇", OrgKind::Township),
    ("410122-103", "万滩镇", OrgKind::Township),
    ("410122-104", "韩寺镇", OrgKind::Township),
    ("410122-105", "姚家镇", OrgKind::Township),
    ("410122-106", "雁鸣湖镇", OrgKind::Township),
    ("410122-107", "黄店镇", OrgKind::Township),
    ("410122-108", "大孟镇", OrgKind::Township),
    ("410122-109", "刘集镇", OrgKind::Township),
    ("410122-110", "九龙镇", OrgKind::Township),
];

/// Villages and communities: (code, name, kind, parent code).
const VILLAGES: [(&str, &str, OrgKind, &str); 4] = [
    ("410122-101-001", "官渡桥村", OrgKind::Village, "410122-101"),
    ("410122-101-002", "小潘庄村", OrgKind::Village, "410122-101"),
    ("410122-106-001", "雁鸣湖村", OrgKind::Village, "410122-106"),
    (
        "410122-001-001",
        "学苑社区",
        OrgKind::Community,
        "410122-001",
    ),
];

const GROUPS: [(&str, &str, &str); 2] = [
    (
        "410122-101-001-01",
        "官渡桥村第一村民小组",
        "410122-101-001",
    ),
    (
        "410122-101-001-02",
        "官渡桥村第二村民小组",
        "410122-101-001",
    ),
];

const DEPARTMENTS: [(&str, &str); 5] = [
    ("410122-d-xf", "县信访局"),
    ("410122-d-zrzy", "县自然资源局"),
    ("410122-d-rs", "县人力资源和社会保障局"),
    ("410122-d-zj", "县住房和城乡建设局"),
    ("410122-d-ga", "县公安局"),
];

/// Channels: (code, section, name).
const CHANNELS: [(&str, &str, &str); 8] = [
    ("guide-level-by-level", "guide", "依法逐级走访"),
    ("guide-laws", "guide", "政策法规"),
    ("guide-faq", "guide", "常见问题"),
    ("news-national", "news", "国家信访局"),
    ("news-henan", "news", "河南信访"),
    ("news-zhengzhou", "news", "郑州信访"),
    ("news-zhongmu", "news", "中牟政务网"),
    ("news-affairs", "news", "时政信访"),
];

/// Articles: (channel code, title, summary, body).
const ARTICLES: [(&str, &str, &str, &str); 9] = [
    (
        "guide-level-by-level",
        "如何依法逐级走访（演示）",
        "信访人应当向依法有权处理的本级或者上一级机关提出信访事项。",
        "<p>根据《信访工作条例》，信访人采用走访形式提出信访事项的，应当到有权处理的本级或者上一级机关设立或者指定的接待场所提出。</p><p>本文为演示数据。</p>",
    ),
    (
        "guide-level-by-level",
        "网上信访办理流程（演示）",
        "网上提交、线下解决：登记、受理、办理、答复、评价。",
        "<p>提交后 15 日内登记并告知是否受理；受理后 60 日内办结，复杂情况可延期不超过 30 日。</p><p>本文为演示数据。</p>",
    ),
    (
        "guide-laws",
        "《信访工作条例》要点（演示）",
        "2022 年 5 月 1 日起施行。",
        "<p>信访事项分为建议意见类、检举控告类、申诉求决类，依法分类处理。</p><p>本文为演示数据。</p>",
    ),
    (
        "guide-faq",
        "查询码有什么用？（演示）",
        "没有账号也能查询办理进度。",
        "<p>来信、来电登记的信访事项会生成查询码，凭查询码可查询办理进度并评价。</p><p>本文为演示数据。</p>",
    ),
    (
        "news-national",
        "国家信访局新闻示例（演示）",
        "演示新闻摘要。",
        "<p>本文为演示数据，不代表任何真实新闻。</p>",
    ),
    (
        "news-henan",
        "河南信访新闻示例（演示）",
        "演示新闻摘要。",
        "<p>本文为演示数据，不代表任何真实新闻。</p>",
    ),
    (
        "news-zhengzhou",
        "郑州信访新闻示例（演示）",
        "演示新闻摘要。",
        "<p>本文为演示数据，不代表任何真实新闻。</p>",
    ),
    (
        "news-zhongmu",
        "中牟政务新闻示例（演示）",
        "演示新闻摘要。",
        "<p>本文为演示数据，不代表任何真实新闻。</p>",
    ),
    (
        "news-affairs",
        "时政信访新闻示例（演示）",
        "演示新闻摘要。",
        "<p>本文为演示数据，不代表任何真实新闻。</p>",
    ),
];

/// Leaders: (name, title).
const LEADERS: [(&str, &str); 5] = [
    ("演示领导甲", "县委书记"),
    ("演示领导乙", "县长"),
    ("演示领导丙", "县委政法委书记"),
    ("演示领导丁", "副县长"),
    ("演示领导戊", "副县长"),
];

const ADMIN_USERNAME: &str = "admin";

/// Loads the demo data when the database has no organisation yet; `None` when it already has.
pub async fn load_if_empty(db: &DatabaseConnection) -> Result<Option<DemoLoaded>, StoreError> {
    if !org::is_empty(db).await? {
        return Ok(None);
    }
    let password = crate::password::generate();
    let password_hash =
        crate::password::hash(&password).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();

    let unit = |code: &str, name: &str, kind, parent_id| -> Result<NewOrgUnit, StoreError> {
        Ok(NewOrgUnit {
            code: OrgCode::parse(code).map_err(fengqiao_domain::DomainError::from)?,
            name: OrgName::parse(name).map_err(fengqiao_domain::DomainError::from)?,
            kind,
            parent_id,
            sort_order: 0,
        })
    };
    let county = org::create(&txn, unit(COUNTY.0, COUNTY.1, OrgKind::County, None)?, true).await?;
    let mut by_code = std::collections::HashMap::new();
    for (i, (code, name, kind)) in TOWNSHIPS.iter().enumerate() {
        let mut new = unit(code, name, *kind, Some(county.id))?;
        new.sort_order = i as i32;
        let made = org::create(&txn, new, true).await?;
        by_code.insert(*code, made.id);
    }
    for (code, name, kind, parent) in VILLAGES {
        let made = org::create(
            &txn,
            unit(code, name, kind, by_code.get(parent).copied())?,
            true,
        )
        .await?;
        by_code.insert(code, made.id);
    }
    for (code, name, parent) in GROUPS {
        org::create(
            &txn,
            unit(
                code,
                name,
                OrgKind::VillagerGroup,
                by_code.get(parent).copied(),
            )?,
            true,
        )
        .await?;
    }
    let mut bureau = county.id;
    for (code, name) in DEPARTMENTS {
        let made = org::create(
            &txn,
            unit(code, name, OrgKind::Department, Some(county.id))?,
            true,
        )
        .await?;
        if code.ends_with("-xf") {
            bureau = made.id;
        }
    }

    let mut channel_ids = std::collections::HashMap::new();
    for (i, (code, section, name)) in CHANNELS.iter().enumerate() {
        let id = Uuid::now_v7();
        channel::ActiveModel {
            id: Set(id),
            code: Set((*code).into()),
            section: Set((*section).into()),
            name: Set((*name).into()),
            sort_order: Set(i as i32),
            is_demo: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            feed_urls: Set(None),
            feed_publish: Set(false),
        }
        .insert(&txn)
        .await?;
        channel_ids.insert(*code, id);
    }
    for (channel_code, title, summary, body) in ARTICLES {
        let Some(channel_id) = channel_ids.get(channel_code).copied() else {
            continue;
        };
        article::ActiveModel {
            id: Set(Uuid::now_v7()),
            channel_id: Set(channel_id),
            title: Set(title.into()),
            summary: Set(Some(summary.into())),
            body: Set(body.into()),
            source: Set(Some("演示数据".into())),
            source_url: Set(None),
            author: Set(Some("演示编辑".into())),
            state: Set("published".into()),
            pinned: Set(false),
            published_at: Set(Some(now)),
            is_demo: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            cover_url: Set(None),
            view_count: Set(0),
            external_id: Set(None),
        }
        .insert(&txn)
        .await?;
    }

    let contacts = [
        (
            "visit",
            "县信访接待中心（演示）",
            Some("中牟县演示路 1 号"),
            None,
            None,
            Some("0371-00000001（演示号码）"),
            Some("工作日 8:30-12:00，14:30-17:30"),
        ),
        (
            "letter",
            "县信访局来信地址（演示）",
            Some("中牟县演示路 1 号 县信访局"),
            Some("451450"),
            Some("县信访局来信科"),
            None,
            None,
        ),
        (
            "hotline",
            "信访热线（演示）",
            None,
            None,
            None,
            Some("0371-00000002（演示号码）"),
            Some("工作日 8:30-17:30"),
        ),
    ];
    for (i, (kind, name, address, postcode, recipient, phone, hours)) in
        contacts.into_iter().enumerate()
    {
        contact::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit_id: Set(bureau),
            kind: Set(kind.into()),
            name: Set(name.into()),
            address: Set(address.map(Into::into)),
            postcode: Set(postcode.map(Into::into)),
            recipient: Set(recipient.map(Into::into)),
            phone: Set(phone.map(Into::into)),
            hours: Set(hours.map(Into::into)),
            latitude: Set(None),
            longitude: Set(None),
            directions: Set(None),
            sort_order: Set(i as i32),
            is_demo: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }

    let mut leader_ids = Vec::new();
    for (name, title) in LEADERS {
        let id = Uuid::now_v7();
        leader::ActiveModel {
            id: Set(id),
            org_unit_id: Set(county.id),
            name: Set(name.into()),
            title: Set(title.into()),
            photo_url: Set(None),
            duties: Set(Some("演示数据".into())),
            active: Set(true),
            is_demo: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        leader_ids.push(id);
    }
    // The county's published rules: the party secretary on the 16th, the county head on the
    // 26th, the political-legal secretary on the first Monday, deputies by workday rota.
    let rules = [
        (Some(leader_ids[0]), "monthly_day", json!({ "day": 16 })),
        (Some(leader_ids[1]), "monthly_day", json!({ "day": 26 })),
        (
            Some(leader_ids[2]),
            "nth_weekday",
            json!({ "nth": 1, "weekday": "mon" }),
        ),
        (
            None,
            "workday_rota",
            json!({ "leader_ids": [leader_ids[3], leader_ids[4]] }),
        ),
    ];
    for (leader_id, kind, params) in rules {
        reception_rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit_id: Set(county.id),
            leader_id: Set(leader_id),
            kind: Set(kind.into()),
            params: Set(params),
            place: Set("县信访接待中心（演示）".into()),
            starts_at: Set("09:00".into()),
            ends_at: Set("12:00".into()),
            capacity: Set(10),
            on_holiday: Set("next_workday".into()),
            active: Set(true),
            is_demo: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }

    let admin = staff::create(
        &txn,
        staff::NewStaff {
            username: ADMIN_USERNAME.into(),
            display_name: "演示管理员".into(),
            password_hash,
            org_unit_id: county.id,
            roles: Roles::new(vec![Role::Administrator]),
        },
        true,
    )
    .await?;
    crate::db::audit::append_in(
        &txn,
        &crate::db::audit::Actor::system(),
        &crate::db::audit::Origin::default(),
        crate::db::audit::Event::new("staff.created")
            .on("staff", admin.id)
            .with(serde_json::json!({"via": "demo data"})),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Some(DemoLoaded {
        admin_username: ADMIN_USERNAME.into(),
        admin_password: password,
    }))
}
