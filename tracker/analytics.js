/* analytics.js: see tracker/README.md */
((w,d,l,h)=>{
let A=w.analytics=w.analytics||{};
if(A.loaded)return;
A.loaded=1;
let safe=f=>(...a)=>{try{return f(...a)}catch(e){}}, // never throw into the page
s=d.currentScript||{},last,api,P=[],
D=s.dataset||{},hash=D.hash!=null,
cut=v=>v.slice(0,2048),
here=()=>hash?l.href:l.href.split('#')[0],
uuid=()=>{
 let t=Date.now().toString(16).padStart(12,0),b=new Uint8Array(19),i=0;
 try{crypto.getRandomValues(b)}catch(e){b=b.map(()=>Math.random()*256)}
 return(t.slice(0,8)+'-'+t.slice(8)+'-7xxx-yxxx-xxxxxxxxxxxx').replace(/[xy]/g,c=>(c<'y'?b[i++]&15:b[i++]&3|8).toString(16))
},
keep=p=>{P=p.slice(-20);try{localStorage.analytics_pending=JSON.stringify(P)}catch(e){}},
post=(ev,t=1e3)=>fetch(api,{method:'POST',body:ev,keepalive:true}).then(r=>{
 if(r.status==429||r.status>499)throw r.headers.get('Retry-After');
 keep(P.filter(e=>e!=ev))
}).catch(s=>P.includes(ev)&&setTimeout(post,s*1e3||(t*=2),ev,t)), // no answer, 429, 5xx: same body again later
send=(type,data,ref)=>{
 try{if(l.protocol=='file:'||localStorage.analytics_ignore=='true')return}catch(e){}
 let ok,ev=JSON.stringify({id:uuid(),event_type:type,page_url:cut(here()),
  event_data:data&&typeof data=='object'&&!Array.isArray(data)?data:void 0,referrer:ref&&cut(d.referrer)||void 0});
 try{ok=navigator.sendBeacon(api,ev)}catch(e){}
 ok||(keep([...P,ev]),post(ev))
},
pageview=safe(()=>{last=here();send('pageview',0,1)}),
auto=()=>here()!=last&&pageview(),
FILE=/\.(pdf|zip|t?gz|rar|7z|dmg|exe|msi|pkg|deb|rpm|apk|iso|docx?|xlsx?|pptx?|od[tsp]|csv|txt|rtf|epub|mp[34]|mov|avi|mkv|wav|flac|ogg|webm|json|xml)$/i,
click=safe(e=>{
 if(e.button!=(e.type=='click'?0:1))return;
 let a=e.target.closest('a[href]'),v={url:cut(a.href)};
 if(/^http/.test(a.protocol))
  D.downloads!='off'&&FILE.test(a.pathname)?send('file_download',v):
  D.outbound!='off'&&a.hostname!=l.hostname&&send('outbound_click',v)
}),
on=(t,e,f)=>t.addEventListener(e,f,true),
start=safe(()=>{
 let q=A.q||[];
 api=new URL((D.api||new URL(s.src).origin).replace(/\/*$/,'/api/analytics/event'),l).href;
 pageview();
 delete A.q;
 A.track=safe((t,data)=>send(t,data));
 A.pageview=pageview;
 q.forEach(safe(c=>A[c[0]](...c[1])));
 for(let m of['pushState','replaceState']){
  let f=h[m];
  h[m]=function(...a){let r=f.apply(this,a);auto();return r}
 }
 on(w,'popstate',auto);
 hash&&on(w,'hashchange',auto);
 on(d,'click',click);
 on(d,'auxclick',click);
 try{keep(JSON.parse(localStorage.analytics_pending))}catch(e){}
 P.forEach(e=>post(e))
});
d.prerendering?on(d,'prerenderingchange',start):start()
})(window,document,location,history);
