//! Server-rendered HTML with maud: functions that take view models and return `Markup`.
//! Vietnamese first; the citizen's pages also speak English. No page needs JavaScript.

pub mod admin;
pub mod assets;
pub mod charts;
pub mod indices;
pub mod manage;
pub mod pages;
pub mod poster;
pub mod survey;

use maud::{DOCTYPE, Markup, html};

/// The language a citizen's page is shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `en` selects English; anything else, Vietnamese.
    pub fn from_param(param: Option<&str>) -> Self {
        match param {
            Some("en") => Self::En,
            _ => Self::Vi,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Vi => Self::En,
            Self::En => Self::Vi,
        }
    }

    /// Picks the text of this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Vi => vi,
            Self::En => en,
        }
    }
}

/// The frame of every page.
pub fn layout(lang: Lang, title: &str, header_extra: Markup, body: Markup) -> Markup {
    document(lang, title, header_extra, None, body)
}

/// A page whose `main` has the class `width` (`staff`: the management pages, which use a wide
/// screen; none: the narrow column of the citizen's pages).
pub fn document(lang: Lang, title: &str, header_extra: Markup, width: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                link rel="stylesheet" href=(assets::stylesheet_path());
                link rel="icon" type="image/svg+xml" href=(assets::icon_path());
            }
            body {
                header.top {
                    strong { "hailong" }
                    (header_extra)
                }
                main class=[width] { (body) }
            }
        }
    }
}
