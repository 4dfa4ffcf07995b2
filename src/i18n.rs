//! The user's language: chosen by `--lang` or the locale environment, applied to every message.

use std::fmt;

/// A language every user-visible text exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Lang {
    #[value(name = "en")]
    #[serde(rename = "en")]
    En,
    #[value(name = "zh-CN", alias = "zh", alias = "zh_CN")]
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    /// Returns the rust-i18n locale name.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// Picks the language from `LC_ALL`, `LC_MESSAGES` and `LANG`, in POSIX precedence order.
    pub fn from_env() -> Lang {
        let lookup = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let locale = lookup("LC_ALL").or_else(|| lookup("LC_MESSAGES")).or_else(|| lookup("LANG"));
        match locale {
            Some(locale) => Lang::from_locale(&locale),
            None => Lang::En,
        }
    }

    /// Maps a POSIX locale such as `zh_CN.UTF-8` to a language; anything not Chinese is English.
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("zh") {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }

    /// Makes this the language of every `t!` call.
    pub fn apply(self) {
        rust_i18n::set_locale(self.code());
    }

    /// Returns the language currently applied.
    pub fn current() -> Lang {
        if &*rust_i18n::locale() == "zh-CN" {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_locales_pick_chinese() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::ZhCn);
        assert_eq!(Lang::from_locale("zh_TW"), Lang::ZhCn);
    }

    #[test]
    fn other_locales_pick_english() {
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("POSIX"), Lang::En);
    }
}
