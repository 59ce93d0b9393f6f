"""A small inventory used by core tests (independent of the demo inventory)."""

INVENTORY = """
version: 1
agencies:
  - id: a1
    name: "Sở Tài chính"
    name_en: Department of Finance
    contacts:
      layer1:
        primary: {name: "Nguyễn Văn An", email: an@a1.example.vn}
        backup: {name: "Trần Thị Bình", email: binh@a1.example.vn}
    systems:
      - {id: portal, name: "Cổng thông tin", level: 3, ip_ranges: ["10.1.1.0/24", "203.0.113.10"], hosts: ["portal-web01"]}
      - {id: db, name: "CSDL tài chính", level: 4, ip_ranges: ["10.1.2.0/24"], hosts: ["*.db.a1.local"]}
      - {id: db-admin, name: "Máy quản trị CSDL", level: 5, ip_ranges: ["10.1.2.128/25"]}
  - id: a2
    name: "UBND quận Lê Chân"
    contacts:
      layer1:
        primary: {name: "Lê Văn Cường", email: cuong@a2.example.vn}
    systems:
      - {id: ws, name: "Máy trạm", level: 2, ip_ranges: ["10.2.0.0/16", "2001:db8:2::/48"]}
"""
