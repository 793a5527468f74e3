//! `clap::ValueEnum` for the option enums (feature `clap`): a command line takes the core's
//! own enums, with the names of their `FromStr` and `name()`, instead of a mirror type.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::{GroupBy, IdlePolicy, Methodology, Period};

macro_rules! value_enum {
    ($type:ty, $($variant:ident => $help:literal),+ $(,)?) => {
        impl ValueEnum for $type {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$type>::$variant),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                let help = match self {
                    $(<$type>::$variant => $help),+
                };
                Some(PossibleValue::new(self.name()).help(help))
            }
        }
    };
}

value_enum!(Methodology,
    Classic => "GreenKube 0.2 parity",
    Full => "The default, most complete model",
);

value_enum!(IdlePolicy,
    Request => "By `max(request, usage)` share of the node; the unreserved rest stays on the node",
    Usage => "By CPU usage share",
    Even => "Evenly between the node's pods",
    Overhead => "Not attributed to pods",
);

value_enum!(GroupBy,
    Pod => "One row per pod",
    Workload => "One row per workload (Deployment, StatefulSet, ...)",
    Namespace => "One row per namespace",
    Node => "One row per node, node overhead included",
    Cluster => "One row per cluster, node overhead included",
);

value_enum!(Period,
    Hour => "`2025-06-02T10:00`",
    Day => "`2025-06-02`",
    Week => "ISO week, `2025-W23`",
    Month => "`2025-06`",
    Year => "`2025`",
);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: ValueEnum + PartialEq + std::fmt::Debug + std::str::FromStr>() {
        for variant in T::value_variants() {
            let value = variant
                .to_possible_value()
                .expect("every variant has a value");
            let parsed = <T as ValueEnum>::from_str(value.get_name(), false)
                .expect("clap parses its own name");
            assert_eq!(&parsed, variant);
            assert!(
                value.get_name().parse::<T>().is_ok_and(|v| &v == variant),
                "clap's name is the FromStr name: {}",
                value.get_name()
            );
        }
    }

    #[test]
    fn clap_names_are_the_core_names() {
        round_trips::<Methodology>();
        round_trips::<IdlePolicy>();
        round_trips::<GroupBy>();
        round_trips::<Period>();
        assert_eq!(Methodology::value_variants().len(), Methodology::ALL.len());
        assert_eq!(IdlePolicy::value_variants().len(), IdlePolicy::ALL.len());
        assert_eq!(GroupBy::value_variants().len(), GroupBy::ALL.len());
        assert_eq!(Period::value_variants().len(), Period::ALL.len());
    }
}
