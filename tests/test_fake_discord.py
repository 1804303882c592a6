"""Proof that the fake Discord speaks Discord's protocols: the REAL discord.py Client with an
app_commands CommandTree connects to its gateway, syncs commands, answers a slash command by
deferring and editing the original into an embed with a chart, sends follow-ups and channel
messages, answers a button and autocomplete, survives a dropped gateway by RESUMEing, and honours
a 429; all through ``bot.discord.transport``."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord
import httpx
import pytest
from discord import app_commands

from bot.discord.transport import (
    DiscordEndpoints,
    discord_endpoints,
    endpoints_from_settings,
    use_gateway_from_api,
)
from bot.settings import DiscordSettings
from tests.fakes.discord_api import MANAGE_GUILD, FakeDiscord

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
NONE = discord.AllowedMentions.none()


class ReportView(discord.ui.View):
    """Persistent buttons under a report (custom ids survive restarts)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="More", custom_id="fa:more")
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:  # type: ignore[type-arg]
        await interaction.response.defer()
        await interaction.followup.send("more accounts @everyone", allowed_mentions=NONE)

    @discord.ui.button(label="Breakdown", custom_id="fa:reasons")
    async def reasons(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:  # type: ignore[type-arg]
        await interaction.response.edit_message(content="reasons: burst", view=None)
        fetched = await interaction.original_response()
        assert fetched.content == "reasons: burst"
        await interaction.delete_original_response()


@app_commands.command(name="audit", description="Audit an account's followers")
async def audit_command(
    interaction: discord.Interaction,
    handle: str,
    sample: int = 1000,
    export: discord.Attachment | None = None,
) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.edit_original_response(content=f"Fetching {sample}")
    if export is not None:
        rows = (await export.read()).count(b"\n")
        await interaction.edit_original_response(content=f"{export.filename}: {rows} rows")
        return
    embed = discord.Embed(title="Grade B", description=f"Report for {handle}")
    embed.set_image(url="attachment://chart.png")
    await interaction.edit_original_response(
        content=None,
        embed=embed,
        attachments=[discord.File(io.BytesIO(PNG), "chart.png")],
        view=ReportView(),
    )
    await interaction.followup.send("verdicts", file=discord.File(io.BytesIO(b"a,b\n"), "v.csv"))
    channel = interaction.channel
    assert isinstance(channel, discord.TextChannel)
    await channel.send("done <@42> @here", allowed_mentions=NONE)


@audit_command.autocomplete("handle")
async def handle_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=f"@{current}.bsky.social", value=f"@{current}.bsky.social")]


@app_commands.command(name="help", description="How to use the bot")
async def help_command(interaction: discord.Interaction) -> None:
    allowed = interaction.permissions.manage_guild
    await interaction.response.send_message(f"help manage={allowed}", ephemeral=True)


async def audit_export(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.defer(ephemeral=True)
    data = await message.attachments[0].read()
    await interaction.followup.send(f"{message.attachments[0].filename}: {len(data)} bytes")


@app_commands.command(name="slow", description="An audit that outlives its token")
async def slow_command(interaction: discord.Interaction) -> None:
    await interaction.response.defer()
    client = interaction.client
    assert isinstance(client, ProofBot)
    await client.gate.wait()
    try:
        await interaction.followup.send("late report")
    except discord.HTTPException as exc:
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send(f"late report (token error {exc.code})", allowed_mentions=NONE)
        await sent.edit(content="late report, delivered")


class ProofBot(discord.Client):
    """Throw-away bot built like the adapter will be: tree, persistent view, sync on start."""

    def __init__(self, dev_guild: int | None = None, *, discover_gateway: bool = False) -> None:
        # READY waits guild_ready_timeout after the last GUILD_CREATE (2 s by default).
        super().__init__(
            intents=discord.Intents.default(), allowed_mentions=NONE, guild_ready_timeout=0.1
        )
        self.resumed = asyncio.Event()
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(audit_command)
        self.tree.add_command(help_command)
        self.tree.add_command(slow_command)
        self.tree.add_command(app_commands.ContextMenu(name="Audit export", callback=audit_export))
        self.gate = asyncio.Event()
        self.dev_guild = dev_guild
        self.discover_gateway = discover_gateway

    async def setup_hook(self) -> None:
        if self.discover_gateway:
            await use_gateway_from_api(self)
        self.add_view(ReportView())
        if self.dev_guild is not None:
            guild = discord.Object(self.dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_resumed(self) -> None:
        self.resumed.set()


@asynccontextmanager
async def running(fake: FakeDiscord, bot: ProofBot) -> AsyncIterator[ProofBot]:
    """Log in, connect to the gateway, wait for READY; close and join on the way out."""
    async with bot:
        await bot.login(fake.token)
        task = asyncio.create_task(bot.connect())
        async with asyncio.timeout(5):
            await bot.wait_until_ready()
        yield bot
        await bot.close()
        await task


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[ProofBot]:
    fake.add_guild("Team")
    with discord_endpoints(DiscordEndpoints(fake.api_base, fake.gateway_url)):
        async with running(fake, ProofBot()) as client:
            yield client


async def test_slash_command_defers_edits_into_embed_and_follows_up(
    fake: FakeDiscord, bot: ProofBot
) -> None:
    assert [c["name"] for c in fake.commands[None]] == ["audit", "help", "slow", "Audit export"]
    assert fake.gateway_queries[0]["encoding"] == "json"
    sent_ops = [frame["op"] for frame in fake.gateway_received]
    assert sent_ops[:2] == [1, 2]  # a heartbeat right after HELLO, then IDENTIFY
    guild = next(iter(fake.guilds.values()))
    alice = fake.user(1001, "alice")
    call = await fake.command(
        "audit", {"handle": "x.bsky.social", "sample": 400}, user=alice, guild=guild
    )

    deferral = await fake.next_reply(call)
    assert (deferral.kind, deferral.callback_type) == ("callback", 5)
    progress = await fake.next_reply(call)
    assert (progress.kind, progress.content) == ("edit", "Fetching 400")
    report = await fake.next_reply(call)
    assert report.kind == "edit" and report.content == ""
    assert report.embeds[0]["title"] == "Grade B"
    assert report.embeds[0]["image"]["url"] == "attachment://chart.png"
    assert [a["filename"] for a in report.attachments] == ["chart.png"]
    assert fake.attachment_bytes(report.attachments[0]) == PNG
    assert report.custom_ids == ["fa:more", "fa:reasons"]
    assert report.payload["allowed_mentions"] == {"parse": []}
    followup = await fake.next_reply(call)
    assert followup.kind == "followup" and followup.uploads[0].data == b"a,b\n"
    notice = await fake.next_channel_message(guild["channels"][0]["id"])
    assert notice.content == "done <@42> @here" and notice.pings == frozenset()

    original = fake.original(call)
    assert original is not None
    press = await fake.press(original, "fa:more", user=alice, guild=guild)
    assert (await fake.next_reply(press)).callback_type == 6
    more = await fake.next_reply(press)
    assert more.kind == "followup" and more.content == "more accounts @everyone"
    assert not more.pings and more.message is not None
    assert not more.message["mention_everyone"]

    breakdown = await fake.press(original, "fa:reasons", user=alice, guild=guild)
    updated = await fake.next_reply(breakdown)
    assert updated.callback_type == 7 and updated.content == "reasons: burst"
    assert updated.custom_ids == []
    assert (await fake.next_reply(breakdown)).kind == "delete"
    assert fake.original(breakdown) is None


async def test_ephemeral_help_in_dm_and_permissions_in_guild(
    fake: FakeDiscord, bot: ProofBot
) -> None:
    bob = fake.user(1002, "bob")
    in_dm = await fake.command("help", user=bob)
    answer = await fake.next_reply(in_dm)
    assert answer.callback_type == 4 and answer.ephemeral
    assert answer.content == "help manage=False"  # no server to manage in a DM
    guild = next(iter(fake.guilds.values()))
    plain = await fake.command("help", user=bob, guild=guild)
    assert (await fake.next_reply(plain)).content == "help manage=False"
    manager = await fake.command("help", user=bob, guild=guild, permissions=MANAGE_GUILD)
    assert (await fake.next_reply(manager)).content == "help manage=True"


async def test_autocomplete_and_attachment_option(fake: FakeDiscord, bot: ProofBot) -> None:
    carol = fake.user(1003, "carol")
    typing = await fake.autocomplete("audit", {"handle": "jay"}, "handle", user=carol)
    choices = await fake.next_reply(typing)
    assert choices.callback_type == 8
    assert choices.payload["data"]["choices"] == [
        {"name": "@jay.bsky.social", "value": "@jay.bsky.social"}
    ]
    export = fake.add_attachment("followers.csv", b"handle\n@a\n@b\n")
    call = await fake.command("audit", {"handle": "x", "export": export}, user=carol)
    await fake.next_reply(call)
    await fake.next_reply(call)
    assert (await fake.next_reply(call)).content == "followers.csv: 3 rows"


async def test_message_command_reads_the_users_upload(fake: FakeDiscord, bot: ProofBot) -> None:
    guild = next(iter(fake.guilds.values()))
    gail = fake.user(1007, "gail")
    export = fake.add_attachment("export.jsonl", b'{"handle": "@a"}\n')
    target = fake.user_message(guild["channels"][0], gail, "my followers", [export])
    call = await fake.message_command("Audit export", target, user=gail, guild=guild)
    deferral = await fake.next_reply(call)
    assert deferral.callback_type == 5 and deferral.ephemeral
    assert (await fake.next_reply(call)).content == "export.jsonl: 17 bytes"


async def test_expired_token_falls_back_to_a_channel_message(
    fake: FakeDiscord, bot: ProofBot
) -> None:
    guild = next(iter(fake.guilds.values()))
    call = await fake.command("slow", user=fake.user(1008, "hal"), guild=guild)
    assert (await fake.next_reply(call)).callback_type == 5
    fake.expire(call.token)
    bot.gate.set()
    channel_id = guild["channels"][0]["id"]
    notice = await fake.next_channel_message(channel_id)
    assert notice.content == "late report (token error 50027)"
    await fake.wait_for(lambda: any(r.kind == "channel_edit" for r in fake.replies))
    assert notice.message is not None
    assert fake.messages[int(notice.message["id"])]["content"] == "late report, delivered"


async def test_gateway_drop_is_resumed_and_events_still_arrive(
    fake: FakeDiscord, bot: ProofBot
) -> None:
    dave = fake.user(1004, "dave")
    await fake.drop_gateway(4000)
    async with asyncio.timeout(10):
        await bot.resumed.wait()
    assert any(frame["op"] == 6 for frame in fake.gateway_received)
    call = await fake.command("help", user=dave)
    assert (await fake.next_reply(call)).ephemeral


async def test_rate_limit_429_is_retried(fake: FakeDiscord, bot: ProofBot) -> None:
    guild = next(iter(fake.guilds.values()))
    fake.fail_next("/messages/@original", retry_after=0.05)
    call = await fake.command("audit", {"handle": "y"}, user=fake.user(1005, "erin"), guild=guild)
    await fake.next_reply(call)
    assert (await fake.next_reply(call)).content == "Fetching 1000"
    statuses = [s for m, p, s in fake.requests if p.endswith("/messages/@original")]
    assert statuses[:2] == [429, 200]
    await fake.next_channel_message(guild["channels"][0]["id"])


async def test_guild_sync_and_gateway_from_rest(fake: FakeDiscord) -> None:
    guild = fake.add_guild("Dev")
    settings = DiscordSettings(api_base=fake.api_base + "/")
    endpoints = endpoints_from_settings(settings)
    assert endpoints == DiscordEndpoints(fake.api_base, None)
    with discord_endpoints(endpoints):
        async with running(fake, ProofBot(int(guild["id"]), discover_gateway=True)) as client:
            names = [c["name"] for c in fake.commands[int(guild["id"])]]
            assert names == ["audit", "help", "slow", "Audit export"]
            call = await fake.command("help", user=fake.user(1006, "fay"), guild=guild)
            reply = await fake.next_reply(call)
            assert reply.ephemeral and client.is_ready()
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


async def test_rest_errors_have_discords_shape(fake: FakeDiscord) -> None:
    async with httpx.AsyncClient(base_url=fake.api_base) as http:
        denied = await http.get("/users/@me", headers={"Authorization": "Bot wrong"})
        assert denied.status_code == 401 and denied.json()["code"] == 0
        channel_id = fake.add_guild()["channels"][0]["id"]
        auth = {"Authorization": f"Bot {fake.token}"}
        too_big = await http.post(
            f"/channels/{channel_id}/messages",
            headers=auth,
            json={"embeds": [{"title": "t" * 257}]},
        )
        assert too_big.status_code == 400 and too_big.json()["code"] == 50035
        assert "embeds.0.title" in too_big.json()["errors"]
        unknown = await http.post("/interactions/1/nope/callback", json={"type": 5})
        assert unknown.status_code == 404 and unknown.json()["code"] == 10062


def test_endpoints_reject_wrong_schemes() -> None:
    with pytest.raises(ValueError, match="api_base"):
        DiscordEndpoints("ws://x/api/v10")
    with pytest.raises(ValueError, match="gateway_url"):
        DiscordEndpoints("http://x/api/v10", "http://x/gateway")
