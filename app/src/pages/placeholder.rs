use leptos::prelude::*;
use leptos_meta::Title;

/// A section that is in the navigation but not built yet: it says so plainly instead of
/// pretending to work.
#[component]
pub fn NotYetBuilt(title: &'static str, purpose: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <div class="banner banner-info" role="status">
            <p>
                <strong>"Not built yet."</strong>
                " This page will let you "
                {purpose}
                ". Nothing here is active in this version of affdesk."
            </p>
        </div>
    }
}
