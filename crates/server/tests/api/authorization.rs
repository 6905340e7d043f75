//! Who may do what: the authorization matrix over every child route.

use crate::helpers::{expect_error, samples_json, spawn_app, TestApp};
use crate::on_both_backends;
use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sprout_server::auth::issue_token;
use sprout_store::{Backend, NewToken, TokenOwner};

on_both_backends!(
    authorization_matrix,
    family_routes_need_a_parent,
    admin_routes_need_the_admin_token
);

/// Who a route is for.
#[derive(Clone, Copy, PartialEq)]
enum Audience {
    /// The family's parents only.
    Parents,
    /// Parents and the child's own devices.
    ParentsAndDevice,
}

struct ChildRoute {
    method: Method,
    path: &'static str,
    audience: Audience,
    body: fn() -> Value,
}

fn no_body() -> Value {
    Value::Null
}

/// Every route under `/children/{child_id}`; the test below fails when the API has one
/// that is not listed here.
fn child_routes() -> Vec<ChildRoute> {
    use Audience::*;
    vec![
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/devices",
            audience: Parents,
            body: || json!({"name": "tablet"}),
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/metrics",
            audience: ParentsAndDevice,
            body: || samples_json("2026-01-05T08:00:00Z", 3),
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/metrics",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/events",
            audience: ParentsAndDevice,
            body: || json!({"event_type": "math_test", "start": "2026-01-07T09:00:00+01:00"}),
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/events",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/notes",
            audience: Parents,
            body: || json!({"text": "Sleeps better after reading."}),
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/notes",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/interventions",
            audience: ParentsAndDevice,
            body: || json!({"kind": "mindfulness", "time": "2026-01-05T19:00:00+01:00", "duration_min": 15}),
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/interventions",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/sleep-episodes",
            audience: ParentsAndDevice,
            body: || json!({"onset": "2026-01-05T21:00:00+01:00", "offset": "2026-01-06T06:30:00+01:00"}),
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/sleep-episodes",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/forecast",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/chronotype",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::POST,
            path: "/api/v1/children/{child_id}/chronotype/recompute",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/insights/causal",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/causal_insights/{child_id}",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/update_chronotype/{child_id}",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/recommendation",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/recommendations",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/recommendation/{child_id}",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/export",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::DELETE,
            path: "/api/v1/children/{child_id}/devices/{device_id}",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::GET,
            path: "/api/v1/children/{child_id}/consents",
            audience: Parents,
            body: no_body,
        },
        ChildRoute {
            method: Method::PUT,
            path: "/api/v1/children/{child_id}/consents",
            audience: Parents,
            body: || json!({"experiments": true}),
        },
        ChildRoute {
            method: Method::PUT,
            path: "/api/v1/children/{child_id}/preferences",
            audience: Parents,
            body: || json!({"liked": ["reading"]}),
        },
        // Last: the family's own call erases the child.
        ChildRoute {
            method: Method::DELETE,
            path: "/api/v1/children/{child_id}",
            audience: Parents,
            body: no_body,
        },
    ]
}

async fn call(app: &TestApp, route: &ChildRoute, child_id: &str, token: Option<&str>) -> reqwest::Response {
    call_with_device(app, route, child_id, &uuid::Uuid::new_v4().to_string(), token).await
}

async fn call_with_device(
    app: &TestApp,
    route: &ChildRoute,
    child_id: &str,
    device_id: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let url = app.url(
        &route
            .path
            .replace("{child_id}", child_id)
            .replace("{device_id}", device_id),
    );
    let mut request = app.client.request(route.method.clone(), url);
    let body = (route.body)();
    if !body.is_null() {
        request = request.json(&body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

async fn expired_parent_token(app: &TestApp, email: &str) -> String {
    let user = app
        .db
        .store
        .find_user_by_email(&sprout_domain::Email::parse(email).expect("email"))
        .await;
    let user = user.expect("query").expect("user");
    let token = issue_token();
    app.db
        .store
        .insert_token(&NewToken {
            hash: token.hash,
            owner: TokenOwner::Parent {
                user_id: user.id,
                family_id: user.family_id,
            },
            expires_at: Some(Utc::now() - chrono::Duration::minutes(1)),
        })
        .await
        .expect("insert expired token");
    token.text
}

async fn authorization_matrix(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.family("a@example.org").await;
    let b = app.family("b@example.org").await;
    let expired = expired_parent_token(&app, &a.email).await;
    let revoked = app.login(&a.email).await;
    assert_eq!(
        app.post("/api/v1/auth/logout", Some(&revoked), &json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    // A spare device of A's child, for the family's own revoke call.
    let spare: Value = app
        .post(
            &format!("/api/v1/children/{}/devices", a.child_id),
            Some(&a.token),
            &json!({"name": "spare"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let spare_id = spare["device_id"].as_str().expect("device id").to_owned();
    let routes = child_routes();

    // The matrix covers every child route the API document lists.
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .expect("openapi");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.contains("{child_id}") {
            continue;
        }
        for method in item.as_object().expect("operations").keys() {
            let listed = routes
                .iter()
                .any(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method));
            assert!(listed, "{method} {path} is not in the authorization matrix");
        }
    }

    let mut checked = 0;
    for route in &routes {
        let what = format!("{} {}", route.method, route.path);
        // Someone else's child does not exist, as far as the caller can tell.
        for (who, token) in [
            ("parent of family B", &b.token),
            ("device of B's child", &b.device_token),
        ] {
            let response = call(&app, route, &a.child_id, Some(token)).await;
            let error = expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
            assert!(
                !error.to_string().contains(&a.child_id),
                "{what} as {who} leaks the id"
            );
            checked += 1;
        }
        // A child id that does not exist at all answers the same.
        let response = call(&app, route, &uuid::Uuid::new_v4().to_string(), Some(&a.token)).await;
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
        for (who, token) in [
            ("no token", None),
            ("expired token", Some(expired.as_str())),
            ("revoked token", Some(revoked.as_str())),
            ("unknown token", Some("spr_nope")),
        ] {
            let response = call(&app, route, &a.child_id, token).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what} as {who}");
            checked += 1;
        }
        // The child's own device writes but does not read.
        let response = call(&app, route, &a.child_id, Some(&a.device_token)).await;
        match route.audience {
            Audience::ParentsAndDevice => assert!(response.status().is_success(), "{what} as own device"),
            Audience::Parents => {
                expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
            }
        }
        let response = call_with_device(&app, route, &a.child_id, &spare_id, Some(&a.token)).await;
        assert!(
            response.status().is_success(),
            "{what} as own parent: {}",
            response.status()
        );
        checked += 2;
    }
    assert_eq!(checked, routes.len() * 8);
    println!("authorization matrix: {} routes x 8 roles checked", routes.len());

    // None of the refused writes reached B's child; A's child was erased by its family.
    assert_eq!(app.stored_samples(&b.child_id).await, 0);
    assert_eq!(app.stored_samples(&a.child_id).await, 0);
}

async fn family_routes_need_a_parent(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.family("c@example.org").await;
    let b = app.family("d@example.org").await;
    // Devices cannot list or add children.
    expect_error(
        app.get("/api/v1/children", Some(&a.device_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let new_child = json!({"display_name": "Leo", "birth_date": "2015-01-01", "timezone": "UTC"});
    let response = app
        .post("/api/v1/children", Some(&a.device_token), &new_child)
        .await;
    expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(
        app.get("/api/v1/children", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // Each parent sees exactly their own family's children.
    let listed: Value = app
        .get("/api/v1/children", Some(&b.token))
        .await
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec![b.child_id.as_str()]);
}

async fn admin_routes_need_the_admin_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.family("e@example.org").await;
    let body =
        json!({"name": "X", "parent_email": "x@example.org", "parent_password": "a long enough password"});
    for token in [
        None,
        Some(a.token.as_str()),
        Some(a.device_token.as_str()),
        Some("wrong-admin-token"),
    ] {
        let response = app.post("/api/v1/families", token, &body).await;
        expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let response = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "x@example.org", "password": "a long enough password"}),
        )
        .await;
    expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
