//! `sqlx::migrate!` embeds the migrations when this crate compiles, and cargo cannot know a new
//! migration file matters: this makes a change under `migrations/` rebuild the crate.

fn main() {
    println!("cargo::rerun-if-changed=../migrations");
}
