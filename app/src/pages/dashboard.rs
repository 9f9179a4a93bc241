use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p class="lead">
            "affdesk runs your affiliate program: the links that fire after each eligible signup, and the referral contracts you create on Explodely."
        </p>
        <ul class="cards">
            <li>
                <a href="/settings/affiliate">"Affiliate Program"</a>
                <p>"Switch the program on or off and edit the five affiliate links."</p>
            </li>
            <li>
                <a href="/affiliate/contracts">"Affiliate contracts"</a>
                <p>"Create second-tier referral contracts through the Explodely API."</p>
            </li>
            <li>
                <a href="/signups">"Signups"</a>
                <p>"See each reported signup, whether it counted, and every delivery."</p>
            </li>
        </ul>
    }
}
