//! `icdflow requantize`: rewrites a GGUF model's weights in a format the CPU
//! reads faster (see `llm::llama::requantize`). `scripts/setup.sh` runs it
//! on the registry model; `models/agents.toml` names the result.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RequantizeArgs {
    /// The GGUF model to rewrite (it is left as it is).
    pub model: PathBuf,
    /// Weight format: IQ4_NL (default: fastest on x86 and ARM CPUs at 4.5
    /// bits), Q4_0 or Q8_0.
    #[arg(long, default_value = "IQ4_NL")]
    pub to: String,
    /// Output file (default: beside the model, the format in its name:
    /// `m.gguf` → `m-iq4_nl.gguf`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Rewrite even when the output file exists.
    #[arg(long)]
    pub force: bool,
    /// Threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[cfg(feature = "llama")]
pub fn run(args: RequantizeArgs) -> anyhow::Result<()> {
    use crate::llm::gguf;
    use crate::llm::llama::requantize::{requantize, WeightFormat};

    let format: WeightFormat = args.to.parse().map_err(anyhow::Error::msg)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| format.default_output(&args.model));
    if output.exists() && !args.force {
        // A finished rewrite is renamed into place, so a file there is whole;
        // say what it holds rather than trusting the name.
        let info = gguf::inspect(&output)?;
        let has = info.weights.and_then(gguf::weights_name).unwrap_or("?");
        println!("{}: present ({has}); --force rewrites it", output.display());
        return Ok(());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let done = requantize(&args.model, &output, format, threads)?;
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "wrote {} ({}, {:.0} MB) from {} ({}, {:.0} MB) in {:.1} s",
        done.output.display(),
        format.name(),
        mb(done.bytes_after),
        args.model.display(),
        done.from.unwrap_or("?"),
        mb(done.bytes_before),
        done.elapsed_ms / 1000.0
    );
    Ok(())
}

#[cfg(not(feature = "llama"))]
pub fn run(_args: RequantizeArgs) -> anyhow::Result<()> {
    anyhow::bail!("this build has no llama.cpp (built without the `llama` feature)")
}
