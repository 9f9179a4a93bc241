pub mod form;
pub mod load_error;
pub mod shell;
