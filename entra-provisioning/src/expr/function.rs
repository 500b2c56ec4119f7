//! The functions of the expression language: names, argument counts, and which arguments may
//! be left empty. Their behaviour is in `eval.rs`.

/// Declares the functions once: the enum, [`ALL`] and [`Function::name`].
macro_rules! functions {
    ($($f:ident),* $(,)?) => {
        /// One of the functions Microsoft documents for attribute-mapping expressions.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // each variant is the function of the same name
        pub enum Function {
            $($f),*
        }

        /// Every function, in the reference's (alphabetical) order.
        pub const ALL: [Function; [$(stringify!($f)),*].len()] = [$(Function::$f),*];

        impl Function {
            /// The function's name as the reference spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Function::$f => stringify!($f)),*
                }
            }
        }
    };
}

functions!(
    Append,
    AppRoleAssignmentsComplex,
    BitAnd,
    CBool,
    CDate,
    Coalesce,
    ConvertToBase64,
    ConvertToUTF8Hex,
    Count,
    CStr,
    DateAdd,
    DateDiff,
    DateFromNum,
    DefaultDomain,
    FormatDateTime,
    Guid,
    IgnoreFlowIfNullOrEmpty,
    IIF,
    InStr,
    IsNull,
    IsNullOrEmpty,
    IsPresent,
    IsString,
    Item,
    Join,
    Left,
    Len,
    Mid,
    NormalizeDiacritics,
    Not,
    Now,
    NumFromDate,
    PCase,
    RandomString,
    Redact,
    RemoveDuplicates,
    Replace,
    SelectUniqueValue,
    SingleAppRoleAssignment,
    Split,
    StripSpaces,
    Switch,
    ToLower,
    ToUpper,
    Word,
);

impl Function {
    /// The function named `name`, compared without regard to case.
    pub fn from_name(name: &str) -> Option<Function> {
        ALL.into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// How many arguments it takes: at least `.0`, at most `.1` (`None`: no limit).
    pub fn arity(self) -> (usize, Option<usize>) {
        use Function::*;
        match self {
            DefaultDomain | Guid | Now => (0, Some(0)),
            AppRoleAssignmentsComplex
            | CBool
            | CDate
            | ConvertToBase64
            | ConvertToUTF8Hex
            | Count
            | CStr
            | DateFromNum
            | IgnoreFlowIfNullOrEmpty
            | IsNull
            | IsNullOrEmpty
            | IsPresent
            | IsString
            | Len
            | NormalizeDiacritics
            | Not
            | NumFromDate
            | Redact
            | RemoveDuplicates
            | SingleAppRoleAssignment
            | StripSpaces => (1, Some(1)),
            ToLower | ToUpper | PCase => (1, Some(2)),
            Append | BitAnd | Item | Left | Split => (2, Some(2)),
            InStr => (2, Some(4)),
            DateAdd | DateDiff | IIF | Mid | Word => (3, Some(3)),
            FormatDateTime => (3, Some(4)),
            RandomString => (5, Some(6)),
            Replace => (7, Some(7)),
            Coalesce => (1, None),
            SelectUniqueValue => (2, None),
            Join => (2, None),
            Switch => (2, None),
        }
    }

    /// The positions (0-based) of arguments that must be given, not left empty.
    pub fn required_args(self) -> impl Iterator<Item = usize> {
        use Function::*;
        let required: &'static [usize] = match self {
            // Replace's optional arguments, FormatDateTime's dateTimeStyles, ToLower's culture,
            // InStr's start and compareType and RandomString's CharactersToAvoid may be left
            // empty; an empty Join separator reads as "".
            Replace => &[0],
            FormatDateTime => &[0],
            ToLower | ToUpper | PCase => &[0],
            InStr => &[0, 1],
            RandomString => &[0, 1, 2, 3, 4],
            Coalesce | SelectUniqueValue | Join | Switch => &[],
            _ => &[0, 1, 2],
        };
        required.iter().copied()
    }
}
