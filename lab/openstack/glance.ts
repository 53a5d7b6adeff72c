// Glance v2 images of the lab cloud (read-only: the lab's images exist from the start).
import type { Cloud, Image } from './cloud.js';
import { ApiError, type ApiRequest, type ApiResponse, isoSeconds, match } from './http.js';

function imageView(img: Image, owner: string): Record<string, unknown> {
  return {
    id: img.id,
    name: img.name,
    status: 'active',
    visibility: 'public',
    protected: false,
    os_hidden: false,
    owner,
    size: img.size,
    virtual_size: 2_147_483_648,
    disk_format: 'qcow2',
    container_format: 'bare',
    checksum: img.id.replace(/-/g, ''),
    min_disk: 0,
    min_ram: 0,
    os_distro: 'debian',
    tags: [],
    created_at: isoSeconds(img.createdAt),
    updated_at: isoSeconds(img.createdAt),
    self: `/v2/images/${img.id}`,
    file: `/v2/images/${img.id}/file`,
    schema: '/v2/schemas/image',
  };
}

/** Handles a request below /image. */
export function handleGlance(cloud: Cloud, req: ApiRequest): ApiResponse {
  const { method, path, base } = req;
  if (method === 'GET' && (path === '' || path === '/' || path === '/versions')) {
    // Glance answers its root with 300 Multiple Choices and the version list.
    const versions = ['2.9', '2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((v, i) => ({
      id: `v${v}`,
      status: i === 0 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${base}/image/v2/` }],
    }));
    return { status: path === '/versions' ? 200 : 300, body: { versions } };
  }
  if (method === 'GET' && path === '/v2/images') {
    let images = [...cloud.images];
    const name = req.query.get('name');
    if (name !== null) images = images.filter((i) => i.name === name || (name.startsWith('in:') && name.slice(3).split(',').includes(i.name)));
    const id = req.query.get('id');
    if (id !== null) images = images.filter((i) => i.id === id || (id.startsWith('in:') && id.slice(3).split(',').includes(i.id)));
    const status = req.query.get('status');
    if (status !== null && status !== 'active') images = [];
    images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const marker = req.query.get('marker');
    if (marker !== null) {
      const i = images.findIndex((x) => x.id === marker);
      if (i < 0) throw new ApiError(400, `marker ${marker} could not be found.`);
      images = images.slice(i + 1);
    }
    const limit = req.query.get('limit');
    const body: Record<string, unknown> = { first: '/v2/images', schema: '/v2/schemas/images' };
    if (limit !== null && images.length > Number(limit)) {
      images = images.slice(0, Number(limit));
      body.next = `/v2/images?marker=${images.at(-1)!.id}&limit=${limit}`;
    }
    body.images = images.map((i) => imageView(i, cloud.projectId));
    return { status: 200, body };
  }
  const m = match('/v2/images/:id', path);
  if (m && method === 'GET') {
    const img = cloud.images.find((i) => i.id === m.id);
    if (!img) throw new ApiError(404, `No image found with ID ${m.id}`);
    return { status: 200, body: imageView(img, cloud.projectId) };
  }
  if (method === 'GET' && path.startsWith('/v2/schemas/')) return { status: 200, body: { name: path.split('/').pop(), properties: {} } };
  throw new ApiError(404, 'The resource could not be found.');
}
