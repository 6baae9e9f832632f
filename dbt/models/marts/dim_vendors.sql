with

vendors as (

    select * from {{ ref('stg_vendors') }}

)

select
    vendor_id,
    vendor_name

from vendors
