// HAProxy admin-socket answers (pure): `show stat` and `show servers state` exactly as HAProxy 2.6 (Debian)
// printed them for a backend with cp-1 UP, cp-2 UP but drained, cp-3 DOWN; merged per server; refusals.
import { strict as assert } from 'node:assert';
import { backendServers, parseServersState, parseShowStat, socketRefusal } from '../../lib/haproxy/stat.js';

const SHOW_STAT = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,
k8s-api,FRONTEND,,,0,0,9984,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
k8s-api,cp-1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,1,1,1,1,,1,3,1,,0,,2,0,,0,L7OK,200,7,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,2,2,3,,,,127.0.0.1:28762,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,2,2,0,,,,,,,,,,,,,,,,,,,,,,
k8s-api,cp-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,1,1,0,1,,1,3,2,,0,,2,0,,0,L7OK,200,7,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,2,2,3,,,,127.0.0.1:28763,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,2,1,0,,,,,,,,,,,,,,,,,,,,,,
k8s-api,cp-3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,2,2,,1,3,3,,0,,2,0,,0,L4CON,,0,,,,,,,,,,,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,2,0,,,,127.0.0.1:3,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
k8s-api,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,1,1,1,,1,3,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,1,0,0,0,-,4,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,13,13,539,168,0,0,

`;

const SERVERS_STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 k8s-api 1 cp-1 127.0.0.1 2 0 1 1 1 15 3 3 6 0 0 0 - 28762 - 0 0 - - 0
3 k8s-api 2 cp-2 127.0.0.1 2 8 1 1 0 15 3 3 6 0 0 0 - 28763 - 0 0 - - 0
3 k8s-api 3 cp-3 127.0.0.1 0 0 1 1 2 8 2 0 6 0 0 0 - 3 - 0 0 - - 0

`;

describe('haproxy admin socket: show stat', () => {
  const rows = parseShowStat(SHOW_STAT);
  it('keeps server rows only (no FRONTEND/BACKEND totals)', () => assert.deepEqual(rows.map((r) => r.server), ['cp-1', 'cp-2', 'cp-3']));
  it('reads status, sessions and the last check', () => {
    assert.deepEqual(
      rows.map((r) => [r.backend, r.server, r.status, r.sessions, r.checkStatus]),
      [['k8s-api', 'cp-1', 'UP', 0, 'L7OK'], ['k8s-api', 'cp-2', 'DRAIN', 0, 'L7OK'], ['k8s-api', 'cp-3', 'DOWN', 0, 'L4CON']],
    );
  });
  it('reads scur by its header position', () => {
    const busy = SHOW_STAT.replace(/^k8s-api,cp-1,0,0,0,/m, 'k8s-api,cp-1,0,0,7,');
    assert.equal(parseShowStat(busy).find((r) => r.server === 'cp-1')!.sessions, 7);
  });
  it('an answer without a header is an error naming what came back', () => assert.throws(() => parseShowStat('Unknown command.\n'), /no "# pxname,svname,..." header.*Unknown command/));
});

describe('haproxy admin socket: show servers state', () => {
  const rows = parseServersState(SERVERS_STATE);
  const rowsTable: [string, number, boolean, boolean, number | undefined][] = [
    ['cp-1', 2, false, false, 28762],
    ['cp-2', 2, true, false, 28763],
    ['cp-3', 0, false, false, 3],
  ];
  for (const [name, op, drain, maint, port] of rowsTable) {
    it(`${name}: op state ${op}, drain ${drain}, maint ${maint}`, () => {
      const r = rows.find((x) => x.server === name)!;
      assert.deepEqual([r.backend, r.opState, r.drain, r.maint, r.port], ['k8s-api', op, drain, maint, port]);
    });
  }
  const flags: [number, boolean, boolean][] = [[0x01, false, true], [0x04, false, true], [0x10, true, false], [0x20, false, true], [0x09, true, true]];
  for (const [admin, drain, maint] of flags) {
    it(`admin state 0x${admin.toString(16)} → drain ${drain}, maint ${maint}`, () => {
      const r = parseServersState(SERVERS_STATE.replace(/^(3 k8s-api 1 cp-1 127\.0\.0\.1 2) 0 /m, `$1 ${admin} `)).find((x) => x.server === 'cp-1')!;
      assert.deepEqual([r.drain, r.maint], [drain, maint]);
    });
  }
});

describe('haproxy admin socket: merged backend view', () => {
  it('up means UP, not drained and not in maintenance', () => {
    const v = backendServers(parseShowStat(SHOW_STAT), parseServersState(SERVERS_STATE), 'k8s-api');
    assert.deepEqual(v.map((s) => [s.name, s.up, s.drain, s.status]), [['cp-1', true, false, 'UP'], ['cp-2', false, true, 'DRAIN'], ['cp-3', false, false, 'DOWN']]);
  });
  const statuses: [string, boolean][] = [['UP', true], ['UP 1/2', true], ['DOWN 1/2', false], ['DOWN', false], ['NOLB', false], ['MAINT', false], ['no check', false]];
  for (const [status, up] of statuses) {
    it(`status ${JSON.stringify(status)} of a server in service → up ${up}`, () => {
      const stat = SHOW_STAT.replace(/^(k8s-api,cp-1,(?:[^,]*,){15})UP,/m, `$1${status},`);
      assert.equal(backendServers(parseShowStat(stat), parseServersState(SERVERS_STATE), 'k8s-api')[0]!.up, up);
    });
  }
  it('a drained server that went DOWN is still drained (show stat says DOWN, the admin state remembers)', () => {
    const stat = SHOW_STAT.replace(/^(k8s-api,cp-2,(?:[^,]*,){15})DRAIN,/m, '$1DOWN,');
    const v = backendServers(parseShowStat(stat), parseServersState(SERVERS_STATE), 'k8s-api').find((s) => s.name === 'cp-2')!;
    assert.deepEqual([v.status, v.drain, v.up], ['DOWN', true, false]);
  });
  it('another backend is not mixed in', () => assert.deepEqual(backendServers(parseShowStat(SHOW_STAT), parseServersState(SERVERS_STATE), 'other'), []));
});

describe('haproxy admin socket: refusals', () => {
  const rows: [string, string | undefined][] = [['\n', undefined], ['', undefined], ['No such server.\n\n', 'No such server.'], ['Unknown command.\n', 'Unknown command.']];
  for (const [answer, want] of rows) it(`${JSON.stringify(answer)} → ${String(want)}`, () => assert.equal(socketRefusal(answer), want));
});
