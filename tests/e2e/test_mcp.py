"""Agents drive the studio through Gradio's MCP server: every public endpoint is a tool named after its handler,
described by its docstring, and callable over streamable HTTP on loopback with an MCP client."""

from __future__ import annotations

import ast

import anyio
import httpx
import pytest

pytestmark = pytest.mark.e2e


async def _session(url: str, work):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(f"{url}/gradio_api/mcp/") as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        return await work(session)


def call_mcp(url: str, work):
    return anyio.run(_session, url, work)


def test_every_public_endpoint_is_a_tool_with_its_docstring(studio) -> None:
    info = httpx.get(f"{studio.url}/gradio_api/info", timeout=30).json()["named_endpoints"]

    async def listing(session):
        return (await session.list_tools()).tools

    tools = {tool.name: tool for tool in call_mcp(studio.url, listing)}
    # Tools are named after the handler functions; public endpoints after their api_name: here they coincide.
    missing = sorted(name.lstrip("/") for name in info if name.lstrip("/") not in tools)
    assert not missing, f"public endpoints without an MCP tool: {missing}"
    for name, endpoint in info.items():
        tool = tools[name.lstrip("/")]
        assert endpoint["description"] and tool.description.startswith(endpoint["description"].split("\n")[0][:60])
        described = [p for p in tool.inputSchema.get("properties", {}).values() if p.get("description")]
        assert described or not tool.inputSchema.get("properties"), f"{name}: parameters without a description"
    assert tools["t2i"].inputSchema["properties"]["prompt"]["description"].startswith("Chinese, English or mixed")


def test_a_tool_call_returns_the_endpoint_answer(studio) -> None:
    async def models(session):
        return await session.call_tool("models", {})

    result = call_mcp(studio.url, models)
    assert not result.isError
    text = "".join(getattr(part, "text", "") for part in result.content)
    rows = ast.literal_eval(text)  # Gradio's MCP server sends the endpoint's answer as its Python text
    keys = {row["key"] for row in rows}
    assert {"t2i/kolors", "inpaint/sd15", "hand/mediapipe"} <= keys


def test_a_bad_tool_call_is_a_readable_error_and_the_server_keeps_serving(studio) -> None:
    async def bad_sweep(session):
        return await session.call_tool("t2i_xy", {"prompt": "a fox", "negative_prompt": "",
                                                  "models": ["t2i/flux-schnell"], "seed": 1, "width": 256,
                                                  "height": 256, "steps": 1, "guidance": None, "x_axis": "seed",
                                                  "x_values": "1-100", "y_axis": "none", "y_values": ""})

    result = call_mcp(studio.url, bad_sweep)
    text = "".join(getattr(part, "text", "") for part in result.content)
    assert result.isError and "x_values" in text and "more than 36" in text
    assert httpx.get(studio.url, timeout=30).status_code == 200
