//! The OpenAPI document, generated from the handlers' annotations.

use crate::routes;
use std::sync::OnceLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Sprout API", description = "Child-wellness engine: ingestion, children, devices and records."),
    paths(
        routes::healthz,
        routes::readyz,
        routes::create_family,
        routes::login,
        routes::create_child,
        routes::list_children,
        routes::get_child,
        routes::create_device,
        routes::post_metrics,
        routes::get_metrics,
        routes::post_event,
        routes::list_events,
        routes::post_intervention,
        routes::list_interventions,
        routes::post_sleep_episode,
        routes::list_sleep_episodes,
        routes::get_forecast,
        routes::get_chronotype,
        routes::recompute_chronotype,
        routes::get_causal_insights,
        routes::causal_insights_original,
        routes::update_chronotype_original,
        routes::get_recommendation,
        routes::recommendation_original,
        routes::list_recommendations,
        routes::post_feedback,
        routes::feedback_original,
        routes::logout,
        routes::revoke_device,
        routes::audit_trail,
        routes::export_child,
        routes::delete_child,
        routes::list_models,
        routes::list_experiments,
        routes::start_experiment,
        routes::get_consents,
        routes::put_consents,
        routes::put_preferences,
        routes::get_family_settings,
        routes::put_family_settings,
        routes::post_note,
        routes::get_notes,
    ),
    components(schemas(sprout_app::rollup::Bucket, sprout_app::rollup::Summary, routes::NoteInput)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // Every operation with a JSON body refuses a body that is not JSON (415) or is
        // malformed (400) before its own rules apply.
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put, &mut item.patch]
                .into_iter()
                .flatten()
            {
                if operation.request_body.is_some() {
                    for (status, description) in [
                        ("400", "malformed JSON or query"),
                        ("415", "the body is not application/json"),
                    ] {
                        operation
                            .responses
                            .responses
                            .entry(status.to_owned())
                            .or_insert_with(|| {
                                utoipa::openapi::RefOr::T(utoipa::openapi::Response::new(description))
                            });
                    }
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("admin", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document as JSON, built once.
pub fn openapi_json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
    .clone()
}
