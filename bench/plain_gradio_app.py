"""Baseline for bench/startup.py: a plain Gradio Blocks app with N tabs of simple components, nothing else."""

from __future__ import annotations

import argparse

import gradio as gr

parser = argparse.ArgumentParser()
parser.add_argument("--tabs", type=int, default=2)
parser.add_argument("--port", type=int, required=True)
args = parser.parse_args()

with gr.Blocks(title="baseline") as demo:
    gr.Markdown("# Baseline")
    with gr.Tabs():
        for i in range(args.tabs):
            with gr.Tab(f"Tab {i}"):
                text = gr.Textbox(label="Prompt")
                out = gr.Gallery(label="Results")
                gr.Button("Run").click(lambda t: [], text, out)
demo.queue()
demo.launch(server_name="127.0.0.1", server_port=args.port)
