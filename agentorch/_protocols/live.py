"""The live view: a local web page showing a team's runs as they happen (`agentorch serve`).

One Starlette app: `GET /` is the page (self-contained: no CDN, nothing loaded from elsewhere);
the page starts a run by posting an AG-UI `RunAgentInput` to `POST /agui` and reads the run's
AG-UI events (`agui`) from the answer's stream. It shows the plan as the report draws it (the
DAG, `POST /dag` draws it again as sub-tasks change state), each sub-task's text as the model
writes it, the critic's verdicts, the answer, the approvals a paused run waits for — answered from the page with AG-UI
resume entries — and, when the run pauses or ends, its usage table (`GET /usage/{thread}`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentorch._protocols.agui import _core, agui_endpoint
from agentorch._render.html import dag_svg, html_page, usage_html
from agentorch._types import ModelPrice, Plan, normalize_prices

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from agentorch._team import Team

__all__ = ["live_app", "live_page"]


def live_page(team: Team) -> str:
    """The live view's page for `team`."""
    agents = ", ".join(f"{a.name} ({a.role})" if a.role else a.name for a in team.agents)
    body = (
        f'<h1>agentorch · <span id="team">{_e(team.name)}</span></h1>'
        f'<p class="meta">{_e(agents)}</p>'
        '<form id="start"><textarea id="goal" rows="2" cols="80" placeholder="What should the team do?"></textarea>'
        ' <button id="run" type="submit">Run</button></form>'
        '<p class="meta">status: <span class="badge" id="status" style="background:#6e7781">idle</span>'
        ' <span id="thread"></span></p>'
        '<p class="error" id="error"></p>'
        '<div id="approvals"></div>'
        '<h2>Plan</h2><div class="scroll" id="dag"><p class="meta">(no plan yet)</p></div>'
        '<h2>Sub-tasks</h2><div id="subtasks"></div>'
        '<h2>Critic</h2><ol id="verdicts"></ol>'
        '<h2>Answer</h2><pre id="answer"></pre>'
        '<h2>Usage</h2><div id="usage"><p class="meta">(when the run pauses or ends)</p></div>'
    )
    return html_page(f"agentorch · {team.name}", body, script=_SCRIPT, connect=True)


def live_app(team: Team, *, prices: Mapping[str, Any] | None = None) -> Starlette:
    """The live view of `team` as an ASGI app (see the module doc); `prices` price the usage
    table (default: the costs recorded under the team's prices)."""
    _core()
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    page = live_page(team)
    table_prices: dict[str, ModelPrice] = normalize_prices(prices)

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def dag(request: Request) -> Any:
        body = await request.json()
        try:
            plan = Plan.model_validate(body.get("plan"))
        except ValueError as e:
            return JSONResponse({"error": f"not a plan: {e}"}, status_code=422)
        states = {sid: (str(s[0]), int(s[1])) for sid, s in (body.get("states") or {}).items()}
        return HTMLResponse(dag_svg(plan, states, svg_id="plan-dag"))

    async def usage(request: Request) -> HTMLResponse:
        result = await team.aresult(request.path_params["thread"])
        return HTMLResponse(usage_html(result, table_prices))

    return Starlette(
        routes=[
            Route("/", index),
            Route("/agui", agui_endpoint(team), methods=["POST"]),
            Route("/dag", dag, methods=["POST"]),
            Route("/usage/{thread}", usage),
        ]
    )


def _e(text: str) -> str:
    from html import escape

    return escape(text, quote=True)


_COLORS = json.dumps(
    {
        "running": "#0969da",
        "interrupted": "#0969da",
        "completed": "#2e7d32",
        "failed": "#c62828",
        "rejected": "#6e7781",
        "max_rounds": "#b7791f",
        "budget_exhausted": "#b7791f",
    }
)

_SCRIPT = (
    """
(function(){
var COLORS=__COLORS__;
var thread=null, state=null, keyOf={}, texts={}, drawn='';
function $(id){return document.getElementById(id);}
function uid(){return Math.random().toString(16).slice(2)+Date.now().toString(16);}
function input(extra){
  var body={threadId:thread,runId:uid(),state:{},messages:[],tools:[],context:[],forwardedProps:{}};
  for(var k in extra){body[k]=extra[k];}
  return body;
}
function post(body){
  $('error').textContent='';
  return fetch('agui',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)})
    .then(function(resp){return read(resp.body.getReader(), new TextDecoder(), '');});
}
function read(reader, decoder, buffer){
  return reader.read().then(function(r){
    if(r.done){return;}
    buffer+=decoder.decode(r.value,{stream:true});
    var cut;
    while((cut=buffer.indexOf('\\n\\n'))>=0){
      var chunk=buffer.slice(0,cut); buffer=buffer.slice(cut+2);
      if(chunk.indexOf('data: ')===0){handle(JSON.parse(chunk.slice(6)));}
    }
    return read(reader, decoder, buffer);
  });
}
function patch(op){
  var parts=op.path.split('/').slice(1).map(function(p){return p.replace(/~1/g,'/').replace(/~0/g,'~');});
  var last=parts.pop(), target=state;
  parts.forEach(function(p){target=target[p];});
  if(op.op==='remove'){delete target[last];}
  else if(Array.isArray(target)&&last==='-'){target.push(op.value);}
  else{target[last]=op.value;}
}
function handle(ev){
  if(ev.type==='STATE_SNAPSHOT'){state=ev.snapshot;render();}
  else if(ev.type==='STATE_DELTA'){ev.delta.forEach(patch);render();}
  else if(ev.type==='TEXT_MESSAGE_START'){
    var key=(ev.metadata&&ev.metadata.subtask_id)||'answer';
    keyOf[ev.messageId]=key; texts[key]='';
  }
  else if(ev.type==='TEXT_MESSAGE_CONTENT'){
    var k=keyOf[ev.messageId]; texts[k]+=ev.delta; showText(k);
  }
  else if(ev.type==='RUN_FINISHED'){
    var waiting=ev.outcome&&ev.outcome.type==='interrupt'?ev.outcome.interrupts:[];
    approvals(waiting);
    if(ev.result){texts.answer=ev.result.answer; showText('answer');}
    fetch('usage/'+encodeURIComponent(thread)).then(function(r){return r.text();}).then(function(h){$('usage').innerHTML=h;});
    $('run').disabled=false;
  }
  else if(ev.type==='RUN_ERROR'){$('error').textContent=ev.message;$('run').disabled=false;}
}
function showText(key){
  var el=key==='answer'?$('answer'):document.querySelector('[data-text="'+CSS.escape(key)+'"]');
  if(el){el.textContent=texts[key];}
}
function render(){
  var badge=$('status'); badge.textContent=state.status; badge.style.background=COLORS[state.status]||'#6e7781';
  var box=$('subtasks');
  Object.keys(state.subtasks).forEach(function(id){
    var row=state.subtasks[id], sec=box.querySelector('[data-subtask="'+CSS.escape(id)+'"]');
    if(!sec){
      sec=document.createElement('details'); sec.className='detail'; sec.open=true; sec.dataset.subtask=id;
      var sum=document.createElement('summary'), pre=document.createElement('pre');
      pre.dataset.text=id; sec.appendChild(sum); sec.appendChild(pre); box.appendChild(sec);
    }
    sec.dataset.status=row.status;
    sec.querySelector('summary').textContent=id+' · '+row.agent+' · '+row.status+(row.tokens?' · '+row.tokens+' tokens':'');
    if(row.status!=='running'&&row.output){texts[id]=row.output;}
    showText(id);
  });
  var verdicts=$('verdicts');
  while(verdicts.children.length<state.verdicts.length){
    var v=state.verdicts[verdicts.children.length], li=document.createElement('li');
    li.className='verdict'; li.dataset.decision=v.decision;
    li.textContent=v.decision+(v.revise&&v.revise.length?' ('+v.revise.join(', ')+')':'')+(v.feedback?': '+v.feedback:'');
    verdicts.appendChild(li);
  }
  if(state.answer){texts.answer=state.answer; showText('answer');}
  if(!state.plan){return;}
  var states={};
  Object.keys(state.subtasks).forEach(function(id){var r=state.subtasks[id];states[id]=[r.status,r.attempts];});
  var key=JSON.stringify([state.plan,states]);
  if(key===drawn){return;}
  drawn=key;
  fetch('dag',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({plan:state.plan,states:states})})
    .then(function(r){return r.text();}).then(function(svg){if(drawn===key){$('dag').innerHTML=svg;}});
}
function approvals(waiting){
  var box=$('approvals'); box.innerHTML='';
  waiting.forEach(function(w){
    var card=document.createElement('div'); card.className='approval detail'; card.dataset.interrupt=w.id;
    var text=document.createElement('p'); text.textContent=w.message+' '+JSON.stringify(w.metadata.args||w.metadata.plan||{});
    card.appendChild(text);
    [['approve',true],['deny',false]].forEach(function(choice){
      var b=document.createElement('button'); b.type='button'; b.className=choice[0]; b.textContent=choice[0];
      b.addEventListener('click',function(){
        box.innerHTML=''; $('run').disabled=true;
        post(input({resume:[{interruptId:w.id,status:'resolved',payload:choice[1]}]}));
      });
      card.appendChild(b);
    });
    box.appendChild(card);
  });
}
$('start').addEventListener('submit',function(e){
  e.preventDefault();
  var goal=$('goal').value.trim(); if(!goal){return;}
  thread=uid(); texts={}; keyOf={}; drawn=''; $('subtasks').innerHTML=''; $('answer').textContent='';
  $('dag').innerHTML=''; $('usage').innerHTML=''; $('verdicts').innerHTML=''; $('thread').textContent='thread '+thread; $('run').disabled=true;
  post(input({messages:[{id:uid(),role:'user',content:goal}]}));
});
})();
"""
).replace("__COLORS__", _COLORS)
