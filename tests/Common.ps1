# Dot-sourced by the Pester suites: imports the staged module and locates the shared vectors.
Set-StrictMode -Version Latest
if (-not $env:DAXFS_MODULE_PATH) { $env:DAXFS_MODULE_PATH = Join-Path $PSScriptRoot '../out/DaxFs/DaxFs.psd1' }
Import-Module $env:DAXFS_MODULE_PATH -Force
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
$script:Vectors = if ($env:DAXFS_SHARED) { Join-Path $env:DAXFS_SHARED 'vectors' } else { (Resolve-Path (Join-Path $script:RepoRoot '../shared/vectors')).Path }

# The listing of an image in the shape of the vectors' NAME.expected.json, made through the cmdlets.
function Get-ImageListing {
    param([Parameter(Mandatory)] $Image, [string] $BackingFile)
    $extra = @{}
    if ($BackingFile) { $extra.BackingFile = $BackingFile }
    $all = @(Get-DaxFsItem $Image -Recurse @extra)
    # link_group: the smallest path (ordinal) of each group of paths sharing one inode.
    $groups = @{}
    $all | Where-Object Type -eq 'File' | Group-Object Inode | Where-Object Count -gt 1 | ForEach-Object {
        [string[]] $names = $_.Group.FullName
        [Array]::Sort($names, [StringComparer]::Ordinal)
        $groups[[string]$_.Name] = $names[0]
    }
    $result = [ordered]@{}
    foreach ($i in $all) {
        $e = [ordered]@{ gid = $i.Gid; mode = [int]$i.Permissions }
        switch ($i.Type) {
            'Directory' { $e.type = 'dir' }
            'SymbolicLink' { $e.target = $i.Target; $e.type = 'symlink' }
            'File' {
                $bytes = $i | Get-DaxFsContent -AsByteStream @extra
                $e.sha256 = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]$bytes)).ToLowerInvariant()
                $e.size = $i.Size
                $e.type = 'file'
                if ($groups.ContainsKey([string]$i.Inode)) { $e.link_group = $groups[[string]$i.Inode] }
            }
        }
        $e.uid = $i.Uid
        $result[$i.FullName] = $e
    }
    $result
}

# Compares a listing with NAME.expected.json; returns the differences as strings (empty when equal).
function Compare-Listing {
    param([Parameter(Mandatory)] $Listing, [Parameter(Mandatory)] [string] $ExpectedJson, [switch] $IgnoreOwner)
    $expected = Get-Content -Raw $ExpectedJson | ConvertFrom-Json -AsHashtable
    $diff = [Collections.Generic.List[string]]::new()
    foreach ($path in $expected.Keys) {
        if ($path -eq '/') { continue }
        if (-not $Listing.Contains($path)) { $diff.Add("missing $path"); continue }
        foreach ($k in $expected[$path].Keys) {
            if ($IgnoreOwner -and $k -in 'uid', 'gid') { continue }
            $want = $expected[$path][$k]; $got = $Listing[$path][$k]
            if ("$want" -cne "$got") { $diff.Add("$path ${k}: expected '$want', got '$got'") }
        }
        foreach ($k in $Listing[$path].Keys) { if (-not $expected[$path].ContainsKey($k)) { $diff.Add("$path has unexpected $k") } }
    }
    foreach ($path in $Listing.Keys) { if (-not $expected.ContainsKey($path)) { $diff.Add("unexpected $path") } }
    , $diff.ToArray()
}
