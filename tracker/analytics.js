/* analytics.js: pageviews (load, SPA), outbound/download clicks, analytics.track(type, data?),
 * analytics.pageview(). Docs, size check: tracker/README.md.
 * Tag attributes: data-api="https://stats.example" (API base; default: this file's origin),
 * data-hash (fragment changes are pageviews), data-outbound="off", data-downloads="off".
 * Queue snippet, inline before the tag:
 * <script>window.analytics=window.analytics||{q:[],track:function(){this.q.push(['track',arguments])},pageview:function(){this.q.push(['pageview',arguments])}}</script> */
((w,d,l,h)=>{
let A=w.analytics||{};
if(A.loaded)return; // included twice
A.loaded=1;w.analytics=A;
let safe=f=>(...a)=>{try{return f(...a)}catch(e){}}, // never throw into the page
s=d.currentScript||{},last,api,
D=s.dataset||{},hash=D.hash!=null,
cut=v=>v.slice(0,2048),
here=()=>hash?l.href:l.href.split('#')[0],
send=(type,data,ref)=>{
 // silent on file: pages and when localStorage.analytics_ignore is "true"
 try{if(l.protocol=='file:'||localStorage.analytics_ignore=='true')return}catch(e){}
 let ev={event_type:type,page_url:cut(here())},ok;
 if(data&&typeof data=='object'&&!Array.isArray(data))ev.event_data=data;
 if(ref&&d.referrer)ev.referrer=cut(d.referrer);
 ev=JSON.stringify(ev);
 try{ok=navigator.sendBeacon(api,ev)}catch(e){}
 ok||fetch(api,{method:'POST',body:ev,keepalive:true,mode:'no-cors'}).catch(e=>0)
},
pageview=safe(()=>{last=here();send('pageview',0,1)}),
auto=()=>here()!=last&&pageview(), // SPA: only a new URL counts
FILE=/\.(pdf|zip|t?gz|rar|7z|dmg|exe|msi|pkg|deb|rpm|apk|iso|docx?|xlsx?|pptx?|od[tsp]|csv|txt|rtf|epub|mp[34]|mov|avi|mkv|wav|flac|ogg|webm|json|xml)$/i,
click=safe(e=>{
 if(e.button!=(e.type=='click'?0:1))return; // left click; middle one is an auxclick
 let u=new URL(e.target.closest('a[href]').href),v={url:cut(u.href)};
 if(/^http/.test(u.protocol))
  D.downloads!='off'&&FILE.test(u.pathname)?send('file_download',v):
  D.outbound!='off'&&u.hostname!=l.hostname&&send('outbound_click',v)
}),
on=(t,e,f)=>t.addEventListener(e,f,true),
start=safe(()=>{
 let b=D.api,q=A.q||[];
 api=(b?new URL(b,l).href:new URL(s.src).origin).replace(/\/+$/,'')+'/api/analytics/event';
 pageview();
 // replay the queue, replace the stubs
 delete A.q;
 A.track=safe((t,data)=>send(t,data));
 A.pageview=pageview;
 q.forEach(safe(c=>A[c[0]](...c[1])));
 for(let m of['pushState','replaceState']){
  let f=h[m];
  h[m]=function(){let r=f.apply(this,arguments);auto();return r}
 }
 on(w,'popstate',auto);
 hash&&on(w,'hashchange',auto);
 on(d,'click',click);
 on(d,'auxclick',click)
});
// a prerendered page counts once shown
d.prerendering?on(d,'prerenderingchange',start):start()
})(window,document,location,history);
