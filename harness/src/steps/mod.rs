//! Step definitions, one file per concept: what the provisioning service does
//! ([`provisioning`]; in Entra's own terms, attribute mappings and Entra users: [`mappings`]),
//! what the host answers ([`host`]), what the target holds ([`target`]),
//! and the bad-input corpus, which does all three per case ([`corpus`]).
//!
//! Steps are registered by hand rather than through cucumber's attribute macros: the macros
//! collect steps with `inventory` at link time, which a library crate cannot rely on. Each step
//! is an `async fn(&mut EcmaWorld, Context) -> StepResult`; the `step!` macro turns it into the function
//! cucumber calls, which reports an `Err` the way cucumber expects a failed step: by unwinding
//! with the message as payload. The runner silences that unwind's default panic message.

pub mod corpus;
pub mod host;
pub mod mappings;
pub mod provisioning;
pub mod target;

use cucumber::step::{Collection, Context, Step};
use regex::Regex;

use crate::world::{EcmaWorld, Failure};

/// The unwind payload of a failed step: the [`Failure`] itself.
#[derive(Debug, Clone)]
pub struct StepFailure(pub Failure);

/// Fails the current step. cucumber's step protocol signals failure by unwinding; the payload
/// is a [`StepFailure`], which the runner's panic hook keeps off stderr.
pub fn fail(failure: Failure) -> ! {
    std::panic::resume_unwind(Box::new(StepFailure(failure)))
}

/// Turns `async fn(&mut EcmaWorld, Context) -> StepResult` into a cucumber step.
macro_rules! step {
    ($f:path) => {{
        fn run(
            world: &mut EcmaWorld,
            ctx: Context,
        ) -> futures_util::future::LocalBoxFuture<'_, ()> {
            Box::pin(async move {
                if let Err(e) = $f(world, ctx).await {
                    crate::steps::fail(e)
                }
            })
        }
        run as cucumber::step::Step<EcmaWorld>
    }};
}

/// The `i`th capture of the step's pattern.
pub fn arg(ctx: &Context, i: usize) -> Result<String, Failure> {
    ctx.matches
        .get(i)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| Failure::new(format!("the step has no capture {i}")))
}

/// Capture `i` of the step as a number of seconds (`[\d.]+` in the step's pattern).
pub fn seconds(ctx: &Context, i: usize) -> Result<f64, Failure> {
    arg(ctx, i)?
        .parse()
        .map_err(|_| Failure::new("bad number of seconds"))
}

/// The step's two-column table as (name, value) pairs.
pub fn table(ctx: &Context) -> Result<Vec<(String, String)>, Failure> {
    let table = ctx
        .step
        .table
        .as_ref()
        .ok_or_else(|| Failure::new("the step needs a table"))?;
    table
        .rows
        .iter()
        .map(|row| match &row[..] {
            [name, value] => Ok((name.trim().to_owned(), value.trim().to_owned())),
            _ => Err(Failure::new(format!(
                "table rows need two cells (attribute | value), got {row:?}"
            ))),
        })
        .collect()
}

fn re(pattern: &str) -> Regex {
    // Patterns are literals in this module; a bad one is caught by the unit test below.
    Regex::new(pattern)
        .unwrap_or_else(|e| fail(Failure::new(format!("bad step pattern {pattern:?}: {e}"))))
}

/// Every step definition: its kind, pattern and function.
pub fn definitions() -> Vec<(gherkin::StepType, &'static str, Step<EcmaWorld>)> {
    use gherkin::StepType::{Given, Then, When};
    let given = provisioning::GIVEN
        .iter()
        .chain(target::GIVEN)
        .chain(mappings::GIVEN)
        .map(|(p, f)| (Given, *p, *f));
    let when = provisioning::WHEN
        .iter()
        .chain(target::WHEN)
        .chain(corpus::WHEN)
        .chain(mappings::WHEN)
        .map(|(p, f)| (When, *p, *f));
    let then = host::THEN
        .iter()
        .chain(target::THEN)
        .chain(corpus::THEN)
        .chain(mappings::THEN)
        .map(|(p, f)| (Then, *p, *f));
    given.chain(when).chain(then).collect()
}

/// Every step, for cucumber.
///
/// The patterns are compiled once per process: a run builds a collection per profile × dialect
/// (twenty in the embedded default), and compiling every pattern for each was a tenth of the
/// embedded default's first second. A `Regex` clone shares the compiled program.
pub fn collection() -> Collection<EcmaWorld> {
    type Compiled = Vec<(gherkin::StepType, Regex, Step<EcmaWorld>)>;
    static COMPILED: std::sync::LazyLock<Compiled> = std::sync::LazyLock::new(|| {
        definitions()
            .into_iter()
            .map(|(kind, pattern, step)| (kind, re(pattern), step))
            .collect()
    });
    COMPILED
        .iter()
        .fold(Collection::new(), |c, (kind, pattern, step)| {
            let (pattern, step) = (pattern.clone(), *step);
            match kind {
                gherkin::StepType::Given => c.given(None, pattern, step),
                gherkin::StepType::When => c.when(None, pattern, step),
                gherkin::StepType::Then => c.then(None, pattern, step),
            }
        })
}

pub(crate) use step;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_every_step_of_the_suite_has_exactly_one_definition() {
        let patterns: Vec<(gherkin::StepType, Regex)> = definitions()
            .into_iter()
            .map(|(kind, p, _)| (kind, Regex::new(p).unwrap()))
            .collect();
        let suite = crate::suite::Suite::embedded().unwrap();
        for feature in &suite.features {
            for scenario in &feature.scenarios {
                for step in &scenario.steps {
                    let n = patterns
                        .iter()
                        .filter(|(ty, re)| *ty == step.ty && re.is_match(&step.value))
                        .count();
                    assert_eq!(
                        n, 1,
                        "{:?} {:?} matches {n} definitions",
                        step.ty, step.value
                    );
                }
            }
        }
    }
}
