// The official AG-UI JS client (@ag-ui/client's HttpAgent, which checks the event order) runs
// the team at the URL given; prints the event types, the state it built, and the last message.
// Used by tests/protocols/test_agui.py when AGUI_CLIENT_DIR names a folder with
// node_modules/@ag-ui/client (npm install @ag-ui/client).
import { HttpAgent } from "@ag-ui/client";
const url = process.argv[2];
const agent = new HttpAgent({ url, threadId: "t-js" });
agent.messages = [{ id: "m1", role: "user", content: "Brief me on solid-state batteries" }];
const seen = [];
try {
  const result = await agent.runAgent({ runId: "r1" }, {
    onEvent({ event }) { seen.push(event.type); },
  });
  console.log("TYPES", JSON.stringify([...new Set(seen)]));
  console.log("STATE", JSON.stringify({status: agent.state.status, answer: agent.state.answer, subtasks: Object.keys(agent.state.subtasks)}));
  console.log("MESSAGES", agent.messages.length, JSON.stringify(agent.messages.slice(-1)[0]).slice(0, 200));
} catch (e) { console.log("ERROR", e.message); process.exit(1); }
