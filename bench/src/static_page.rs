//! The P1 baseline: the best this machine can do for the same bytes over the same HTTP stack.
//! A bare axum handler (no middleware, no database, no rendering) answers every GET with the
//! page affdesk rendered, kept in memory.

use anyhow::Context;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long)]
    addr: SocketAddr,
    /// The file whose bytes every GET returns.
    #[arg(long)]
    body: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let body = Bytes::from(
        std::fs::read(&args.body).with_context(|| format!("reading {}", args.body.display()))?,
    );
    let handler = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response() }
    };
    let app = axum::Router::new().fallback(get(handler));
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    eprintln!(
        "bench static: serving {} on http://{}",
        args.body.display(),
        args.addr
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
